// Progress of running chunk steps, from the workers' `progress.<job>` events: the latest per execution and step,
// and the bar that shows it (always the same height, so rows never move when progress arrives or ends).

import { formatCount, formatRate, formatRelative, h, parseTime, setText } from "./dom.js";

/** The latest progress per execution id, then per step name. */
const latest = new Map();

/**
 * Stores a progress event (the workers' `progress.<job>`: `read`, `write`, `filter`, `skip` in items,
 * `itemsPerSecond`, and `done` / `total` in the reader's own unit — bytes for files — with `estimatedEnd`, when the
 * reader knows its size). Returns the normalised progress, or null for an event without an execution id.
 */
export function recordProgress(event) {
    const executionId = Number(event.executionId);
    if (!Number.isFinite(executionId)) return null;
    const number = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);
    const done = number(event.done);
    const total = number(event.total);
    const progress = {
        executionId,
        jobName: typeof event.jobName === "string" ? event.jobName : "",
        stepName: typeof event.stepName === "string" ? event.stepName : "",
        items: number(event.write) ?? number(event.read),
        read: number(event.read),
        written: number(event.write),
        fraction: done !== null && total !== null && total > 0 ? Math.min(1, Math.max(0, done / total)) : null,
        rate: number(event.itemsPerSecond),
        estimatedEnd: parseTime(event.estimatedEnd ?? null),
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
 * Shows a progress (or nothing). Where the reader knows its size: a filled bar and "42% · 12,345 items · 1,234/s ·
 * ends in 3 m"; otherwise a moving stripe and "12,345 items · 1,234/s". Compact (in table rows): the first two parts.
 */
export function setProgress(element, progress, { compact = false } = {}) {
    const track = element.querySelector(".bar");
    const fill = element.querySelector(".bar-fill");
    const text = element.querySelector(".bar-text");
    if (!progress || (progress.items === null && progress.fraction === null)) {
        element.classList.add("is-empty");
        element.classList.remove("is-indeterminate");
        for (const name of ["aria-valuenow", "aria-valuemax", "aria-valuetext"]) track.removeAttribute(name);
        track.setAttribute("aria-hidden", "true"); // nothing to announce: not running
        fill.style.width = "0%";
        setText(text, "");
        return;
    }
    element.classList.remove("is-empty");
    track.removeAttribute("aria-hidden");
    const parts = [];
    if (progress.fraction !== null) {
        element.classList.remove("is-indeterminate");
        fill.style.width = `${(progress.fraction * 100).toFixed(1)}%`;
        track.setAttribute("aria-valuemax", "100");
        track.setAttribute("aria-valuenow", (progress.fraction * 100).toFixed(0));
        parts.push(`${Math.floor(progress.fraction * 100)}%`);
    } else {
        element.classList.add("is-indeterminate");
        fill.style.width = "100%";
        track.removeAttribute("aria-valuemax");
        track.removeAttribute("aria-valuenow");
    }
    if (progress.items !== null) {
        parts.push(compact ? formatCount(progress.items) : `${formatCount(progress.items)} items`);
    }
    if (progress.rate !== null) parts.push(formatRate(progress.rate));
    if (progress.estimatedEnd && !compact) parts.push(`ends ${formatRelative(progress.estimatedEnd)}`);
    const value = parts.join(" · ");
    track.setAttribute("aria-valuetext", value);
    // Compact, with a fraction: "42% · 1,234/s" (the item count stays in the bar's aria-valuetext).
    setText(text, compact && progress.fraction !== null ? [parts[0], ...parts.slice(2)].join(" · ") : value);
}
