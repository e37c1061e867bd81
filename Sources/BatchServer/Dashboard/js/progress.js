// Progress of running chunk steps, from the workers' `progress.<job>` events: the latest per execution and step,
// and the bar that shows it (always the same height, so rows never move when progress arrives or ends).

import { formatCount, formatRate, formatRelative, h, parseTime, setText } from "./dom.js";

/** The latest progress per execution id, then per step name. */
const latest = new Map();

/** Normalises a progress event's fields (names vary between producers) and stores it. Returns it. */
export function recordProgress(event) {
    const executionId = Number(event.executionId ?? event.jobExecutionId);
    if (!Number.isFinite(executionId)) return null;
    const pick = (...names) => {
        for (const name of names) {
            const value = event[name];
            if (typeof value === "number" && Number.isFinite(value)) return value;
        }
        return null;
    };
    const progress = {
        executionId,
        jobName: event.jobName ?? event.job ?? "",
        stepName: event.stepName ?? event.step ?? "",
        done: pick("written", "write", "writeCount", "processed", "count", "read", "readCount", "items"),
        read: pick("read", "readCount"),
        written: pick("written", "write", "writeCount"),
        total: pick("total", "expected", "size", "totalItems", "expectedItems"),
        fraction: pick("fraction", "completion"),
        rate: pick("itemsPerSecond", "rate", "perSecond"),
        estimatedEnd: parseTime(event.estimatedEnd ?? event.eta ?? event.estimatedEndTime ?? null),
        time: parseTime(event.time) ?? new Date(),
    };
    if (!latest.has(executionId)) latest.set(executionId, new Map());
    latest.get(executionId).set(progress.stepName, progress);
    return progress;
}

/** The latest progress of an execution: of one step, or the most recent of any step. */
export function progressOf(executionId, stepName) {
    const steps = latest.get(Number(executionId));
    if (!steps) return null;
    if (stepName !== undefined) return steps.get(stepName) ?? null;
    let newest = null;
    for (const progress of steps.values()) if (!newest || progress.time > newest.time) newest = progress;
    return newest;
}

/** Forgets an execution's progress once it ended. */
export function forgetProgress(executionId) {
    latest.delete(Number(executionId));
}

/** A progress bar with its text line; empty (but the same height) until setProgress() gives it something. */
export function progressBar(label) {
    const fill = h("span", { class: "bar-fill" });
    const track = h("span", { class: "bar", role: "progressbar", "aria-label": label, "aria-valuemin": "0" }, fill);
    const text = h("span", { class: "bar-text" });
    const element = h("span", { class: "progress is-empty" }, track, text);
    setProgress(element, null);
    return element;
}

/**
 * Shows a progress (or nothing). With a total: a filled bar and "done / total · rate · ends in …"; without:
 * a moving stripe and "done · rate".
 */
export function setProgress(element, progress, { compact = false } = {}) {
    const track = element.querySelector(".bar");
    const fill = element.querySelector(".bar-fill");
    const text = element.querySelector(".bar-text");
    if (!progress || progress.done === null) {
        element.classList.add("is-empty");
        element.classList.remove("is-indeterminate");
        track.removeAttribute("aria-valuenow");
        track.removeAttribute("aria-valuemax");
        track.removeAttribute("aria-valuetext");
        fill.style.width = "0%";
        setText(text, "");
        return;
    }
    element.classList.remove("is-empty");
    const parts = [];
    const known = progress.total !== null && progress.total > 0;
    if (known || progress.fraction !== null) {
        const fraction = Math.min(1, Math.max(0, known ? progress.done / progress.total : progress.fraction));
        element.classList.remove("is-indeterminate");
        fill.style.width = `${(fraction * 100).toFixed(1)}%`;
        track.setAttribute("aria-valuemax", "100");
        track.setAttribute("aria-valuenow", (fraction * 100).toFixed(0));
        const percent = `${Math.floor(fraction * 100)}%`;
        if (compact) parts.push(percent);
        else if (known) parts.push(`${formatCount(progress.done)} / ${formatCount(progress.total)}`);
        else parts.push(`${formatCount(progress.done)} (${percent})`);
    } else {
        element.classList.add("is-indeterminate");
        fill.style.width = "100%";
        track.removeAttribute("aria-valuemax");
        track.removeAttribute("aria-valuenow");
        parts.push(formatCount(progress.done));
    }
    if (progress.rate !== null) parts.push(formatRate(progress.rate));
    if (progress.estimatedEnd && !compact) parts.push(`ends ${formatRelative(progress.estimatedEnd)}`);
    const value = parts.join(" · ");
    track.setAttribute("aria-valuetext", value);
    setText(text, value);
}
