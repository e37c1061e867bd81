// Statuses: a badge with the status's word (colour is never the only signal) and what each status allows.

import { h, setText } from "./dom.js";

/** Every status, in the README's order of severity. */
export const STATUSES = ["STARTING", "STARTED", "STOPPING", "STOPPED", "COMPLETED", "FAILED", "ABANDONED", "UNKNOWN"];

const GLYPHS = {
    STARTING: "◔",
    STARTED: "▶",
    STOPPING: "◼",
    STOPPED: "◼",
    COMPLETED: "✓",
    FAILED: "✕",
    ABANDONED: "⊘",
    UNKNOWN: "?",
};

/** A status badge; update it in place with setStatus(). */
export function statusBadge(status) {
    const glyph = h("span", { class: "glyph", "aria-hidden": "true" });
    const badge = h("span", { class: "status" }, glyph, h("span", { class: "word" }));
    setStatus(badge, status);
    return badge;
}

/** Changes a badge's status (text, glyph and colour) without changing its size. */
export function setStatus(badge, status) {
    const value = typeof status === "string" && status ? status.toUpperCase() : "UNKNOWN";
    const known = STATUSES.includes(value) ? value : "UNKNOWN";
    if (badge.dataset.status === value) return;
    badge.dataset.status = value;
    badge.className = `status status-${known.toLowerCase()}`;
    setText(badge.querySelector(".glyph"), GLYPHS[known]);
    setText(badge.querySelector(".word"), value);
}

/** True while an execution may still change by itself. */
export function isRunning(status) {
    return status === "STARTING" || status === "STARTED" || status === "STOPPING";
}

/** What the operator may do with an execution in this status, and why not when not. */
export const ACTIONS = {
    stop: {
        label: "Stop",
        allowed: (status) => status === "STARTING" || status === "STARTED",
        why: "Only a STARTING or STARTED execution can be stopped.",
        confirm: (execution) =>
            `Stop execution ${execution.id} of “${execution.jobName}”? ` +
            "It ends STOPPED at its next chunk boundary, and can be restarted.",
        done: (execution) => `Stop of execution ${execution.id} sent.`,
    },
    restart: {
        label: "Restart",
        allowed: (status) => status === "STOPPED" || status === "FAILED",
        why: "Only a STOPPED or FAILED execution can be restarted.",
        confirm: (execution) =>
            `Restart the instance of execution ${execution.id} (“${execution.jobName}”) with the same ` +
            "parameters? Completed steps are skipped; it resumes after its last committed chunk.",
        done: (execution, answer) =>
            answer?.executionId
                ? `Restarted as execution ${answer.executionId}.`
                : `Restart of execution ${execution.id} sent.`,
    },
    abandon: {
        label: "Abandon",
        danger: true,
        allowed: (status) => status === "STOPPED" || status === "FAILED" || status === "UNKNOWN",
        why: "Only a STOPPED, FAILED or UNKNOWN execution, the last of its instance, can be abandoned.",
        confirm: (execution) =>
            `Abandon execution ${execution.id} of “${execution.jobName}”? ` +
            "It is marked ABANDONED and its instance never runs again. This cannot be undone.",
        done: (execution) => `Execution ${execution.id} abandoned.`,
    },
};
