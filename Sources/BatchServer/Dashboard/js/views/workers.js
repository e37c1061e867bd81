// The workers: each one's load (running / capacity) and the age of its last heartbeat (by the database clock,
// counted on between reloads), refreshed every 5 seconds.

import { api } from "../api.js";
import { formatSeconds, formatTime, h, reconcileRows, replace, setText } from "../dom.js";
import { poll } from "../polling.js";

/** "1 job", "2 jobs". */
function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
}

const REFRESH_MS = 5000;
/** A heartbeat older than this is late (the worker's default lease is 10 s; a late worker's jobs are failed). */
const LATE_SECONDS = 10;

/** Renders the workers page into `container`. */
export function workersView(container, _params, ctx) {
    const rows = new Map(); // worker id → row
    let loadedAt = 0;

    const tbody = h("tbody");
    const message = h("p", { class: "table-message", role: "status" });
    const summary = h("p", { class: "summary", "aria-live": "polite" });
    replace(
        container,
        h("div", { class: "page-head" }, h("h1", {}, "Workers")),
        summary,
        h(
            "div",
            { class: "table-wrap" },
            h(
                "table",
                { class: "grid workers" },
                h(
                    "caption",
                    { class: "visually-hidden" },
                    "Registered workers, their load and the age of their last heartbeat."
                ),
                h(
                    "thead",
                    {},
                    h(
                        "tr",
                        {},
                        h("th", { scope: "col", class: "c-worker" }, "Worker"),
                        h("th", { scope: "col", class: "c-host" }, "Host · PID"),
                        h("th", { scope: "col", class: "c-load" }, "Load"),
                        h("th", { scope: "col", class: "c-age num" }, "Heartbeat"),
                        h("th", { scope: "col", class: "c-time num" }, "Started")
                    )
                ),
                tbody
            )
        ),
        message
    );

    function makeRow(worker) {
        const fill = h("span", { class: "bar-fill" });
        const label = `Load of ${worker.id}`;
        const bar = h("span", { class: "bar", role: "meter", "aria-valuemin": "0", "aria-label": label }, fill);
        const cells = {
            id: h("th", { scope: "row", class: "c-worker" }),
            host: h("td", { class: "c-host" }),
            bar,
            fill,
            loadText: h("span", { class: "bar-text num" }),
            age: h("span", { class: "age num" }),
            late: h("span", { class: "flag" }),
            started: h("td", { class: "c-time num" }),
        };
        const tr = h(
            "tr",
            {},
            cells.id,
            cells.host,
            h("td", { class: "c-load" }, h("span", { class: "progress load" }, bar, cells.loadText)),
            h("td", { class: "c-age num" }, cells.age, cells.late),
            cells.started
        );
        return { tr, cells, worker };
    }

    function fill(row, worker) {
        row.worker = worker;
        setText(row.cells.id, worker.id);
        row.cells.id.title = worker.id;
        setText(row.cells.host, `${worker.host ?? "–"} · ${worker.pid ?? "–"}`);
        const capacity = typeof worker.capacity === "number" && worker.capacity > 0 ? worker.capacity : null;
        const running = worker.running ?? 0;
        // Remote partitions take slots as jobs do (a manager waiting for its partitions holds none).
        const partitions = worker.partitions ?? 0;
        const used = running + partitions;
        const fraction = capacity ? Math.min(1, used / capacity) : 0;
        row.cells.fill.style.width = `${(fraction * 100).toFixed(1)}%`;
        row.cells.bar.setAttribute("aria-valuenow", String(used));
        if (capacity) row.cells.bar.setAttribute("aria-valuemax", String(capacity));
        else row.cells.bar.removeAttribute("aria-valuemax");
        const parts = partitions > 0 ? ` + ${plural(partitions, "partition")}` : "";
        const text = capacity ? `${running}${parts} / ${capacity} jobs` : `${running}${parts} running`;
        row.cells.bar.setAttribute("aria-valuetext", text);
        row.tr.classList.toggle("is-full", capacity !== null && used >= capacity);
        row.tr.classList.toggle("no-capacity", capacity === null); // a bar needs a maximum
        setText(row.cells.loadText, text);
        setText(row.cells.started, formatTime(worker.started));
        row.cells.started.title = formatTime(worker.started);
        updateAge(row);
    }

    function updateAge(row) {
        const base = row.worker.heartbeatAgeSeconds;
        if (typeof base !== "number") {
            setText(row.cells.age, "–");
            return;
        }
        const age = base + (Date.now() - loadedAt) / 1000;
        setText(row.cells.age, `${formatSeconds(age)} ago`);
        const late = age > LATE_SECONDS;
        row.tr.classList.toggle("is-late", late);
        setText(row.cells.late, late ? "late" : "");
    }

    const poller = poll(REFRESH_MS, message, ctx, async (isStopped) => {
        const answer = await api("/api/workers");
        if (isStopped()) return;
        loadedAt = Date.now();
        const workers = answer?.workers ?? [];
        reconcileRows(tbody, rows, workers, (worker) => worker.id, makeRow, fill);
        const running = workers.reduce((sum, worker) => sum + (worker.running ?? 0), 0);
        const capacity = workers.every((worker) => typeof worker.capacity === "number")
            ? workers.reduce((sum, worker) => sum + worker.capacity, 0)
            : null;
        const slots = capacity ? ` of ${capacity} slots` : "";
        const line = `${plural(workers.length, "worker")}, ${plural(running, "job")} running${slots}.`;
        setText(summary, workers.length ? line : "");
        setText(message, workers.length ? "" : "No worker is registered. Start one with `swiftbatch worker`.");
    });

    return {
        onEvent() {},
        resync() {},
        tick() {
            for (const row of rows.values()) updateAge(row);
        },
        unmount: poller.stop,
    };
}
