// The schedules: each one's cron expression and zone, whether it is paused, when it fires next (counting down)
// and what it fired last; pause, resume and trigger with confirmation. Refreshed every 10 seconds.

import { api } from "../api.js";
import { formatRelative, formatTime, formatTimeIn, h, reconcileRows, replace, setText } from "../dom.js";
import { setStatus, statusBadge } from "../status.js";
import { poll } from "../polling.js";

const REFRESH_MS = 10000;

/** Renders the schedules page into `container`. */
export function schedulesView(container, _params, ctx) {
    const rows = new Map(); // schedule name → row

    const tbody = h("tbody");
    const message = h("p", { class: "table-message", role: "status" });
    replace(
        container,
        h("div", { class: "page-head" }, h("h1", {}, "Schedules")),
        h(
            "div",
            { class: "table-wrap" },
            h(
                "table",
                { class: "grid schedules" },
                h("caption", { class: "visually-hidden" }, "Schedules with their next fire times and last firing."),
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        h("th", { scope: "col", class: "c-name" }, "Schedule"),
                        h("th", { scope: "col", class: "c-job" }, "Job"),
                        h("th", { scope: "col", class: "c-cron" }, "When"),
                        h("th", { scope: "col", class: "c-state" }, "State"),
                        h("th", { scope: "col", class: "c-next num" }, "Next fire"),
                        h("th", { scope: "col", class: "c-last" }, "Last fired"),
                        h("th", { scope: "col", class: "c-ops" }, h("span", { class: "visually-hidden" }, "Operations"))
                    )
                ),
                tbody
            )
        ),
        message
    );

    function makeRow(schedule) {
        const cells = {
            name: h("th", { scope: "row", class: "c-name" }),
            job: h("td", { class: "c-job" }),
            cron: h("code", {}),
            zone: h("span", { class: "sub" }),
            state: h("span", { class: "state" }),
            next: h("span", { class: "num" }),
            nextRelative: h("span", { class: "sub num" }),
            last: h("td", { class: "c-last" }),
            pause: h("button", { type: "button", class: "button small", "data-action": "pause" }),
            trigger: h("button", { type: "button", class: "button small", "data-action": "trigger" }, "Trigger"),
        };
        const tr = h(
            "tr",
            {},
            cells.name,
            cells.job,
            h("td", { class: "c-cron" }, cells.cron, cells.zone),
            h("td", { class: "c-state" }, cells.state),
            h("td", { class: "c-next num" }, cells.next, cells.nextRelative),
            cells.last,
            h("td", { class: "c-ops" }, h("div", { class: "ops" }, cells.pause, cells.trigger))
        );
        const row = { tr, cells, schedule };
        cells.pause.addEventListener("click", () => togglePause(row));
        cells.trigger.addEventListener("click", () => trigger(row));
        return row;
    }

    function fill(row, schedule) {
        row.schedule = schedule;
        setText(row.cells.name, schedule.name);
        const origin = schedule.origin === "code" ? "defined in code" : "added at run time";
        row.cells.name.title = `${schedule.name} (${origin})`;
        setText(row.cells.job, schedule.job);
        setText(row.cells.cron, schedule.cron);
        setText(row.cells.zone, `${schedule.timeZone} · misfire ${schedule.misfire}`);
        setText(row.cells.state, schedule.paused ? "Paused" : "Active");
        row.cells.state.className = `state ${schedule.paused ? "is-paused" : "is-active"}`;
        setText(row.cells.next, schedule.paused ? "–" : formatTime(schedule.nextFireTime));
        // In the schedule's own zone, as its cron expression reads.
        row.cells.next.title = schedule.paused ? "" : formatTimeIn(schedule.nextFireTime, schedule.timeZone);
        setText(row.cells.pause, schedule.paused ? "Resume" : "Pause");
        row.cells.pause.setAttribute("aria-label", `${schedule.paused ? "Resume" : "Pause"} schedule ${schedule.name}`);
        row.cells.trigger.setAttribute("aria-label", `Trigger schedule ${schedule.name} now`);
        if (schedule.lastExecutionId) {
            replace(
                row.cells.last,
                h(
                    "span",
                    { class: "last-line" },
                    h("a", { href: `#/executions/${schedule.lastExecutionId}` }, `#${schedule.lastExecutionId}`),
                    schedule.lastExecutionStatus ? statusBadge(schedule.lastExecutionStatus) : null
                ),
                h("span", { class: "sub num" }, `slot ${formatTime(schedule.lastFiredSlot)}`)
            );
        } else {
            const slot = schedule.lastFiredSlot;
            replace(row.cells.last, slot ? h("span", { class: "num" }, formatTime(slot)) : "never");
        }
        updateRelative(row);
    }

    function updateRelative(row) {
        const { paused, nextFireTime } = row.schedule;
        setText(row.cells.nextRelative, paused || !nextFireTime ? "" : formatRelative(nextFireTime));
    }

    async function togglePause(row) {
        const schedule = row.schedule;
        const operation = schedule.paused ? "resume" : "pause";
        const done = await ctx.confirm({
            title: `${schedule.paused ? "Resume" : "Pause"} schedule`,
            message: schedule.paused
                ? `Resume “${schedule.name}”? It fires from its next slot; slots missed while paused stay unfired.`
                : `Pause “${schedule.name}”? It fires nothing until it is resumed.`,
            confirmLabel: schedule.paused ? "Resume" : "Pause",
            run: () => api(`/api/schedules/${encodeURIComponent(schedule.name)}/${operation}`, { method: "POST" }),
        });
        if (done && !poller.stopped) {
            if (typeof done === "object" && done.name) fill(row, done);
            ctx.notify(`Schedule “${schedule.name}” ${operation === "pause" ? "paused" : "resumed"}.`);
        }
    }

    async function trigger(row) {
        const schedule = row.schedule;
        const done = await ctx.confirm({
            title: "Trigger schedule",
            message:
                `Fire “${schedule.name}” now? Its job “${schedule.job}” starts with the template filled ` +
                "for the current second.",
            confirmLabel: "Trigger now",
            run: () => api(`/api/schedules/${encodeURIComponent(schedule.name)}/trigger`, { method: "POST" }),
        });
        if (done && !poller.stopped) {
            ctx.notify(`Schedule “${schedule.name}” fired${done.slot ? ` for ${formatTime(done.slot)}` : ""}.`);
            poller.refresh();
        }
    }

    const poller = poll(REFRESH_MS, message, ctx, async (isStopped) => {
        const answer = await api("/api/schedules");
        if (isStopped()) return;
        const schedules = answer?.schedules ?? [];
        reconcileRows(tbody, rows, schedules, (schedule) => schedule.name, makeRow, fill);
        const none = "No schedules. Add one with `swiftbatch schedule add` or `.schedule(...)` on a job.";
        setText(message, schedules.length ? "" : none);
    });

    return {
        onEvent(kind, event) {
            // A fired schedule's execution changes state: show its new status soon.
            if (kind !== "status") return;
            for (const row of rows.values()) {
                if (row.schedule.lastExecutionId === Number(event.executionId)) {
                    const badge = row.cells.last.querySelector(".status");
                    if (badge) setStatus(badge, event.status);
                }
            }
        },
        resync: poller.refresh,
        tick() {
            for (const row of rows.values()) updateRelative(row);
        },
        unmount: poller.stop,
    };
}
