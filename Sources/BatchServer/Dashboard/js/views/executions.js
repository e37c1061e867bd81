// The executions list: newest first, filtered by job and status, paged by `before`, kept live by the event
// stream (status changes update rows in place; new executions appear at the top of the first page).

import { api, query } from "../api.js";
import { formatDuration, formatShortTime, formatTime, h, replace, setText } from "../dom.js";
import { forgetProgress, progressBar, progressOf, setProgress } from "../progress.js";
import { isRunning, setStatus, statusBadge, STATUSES } from "../status.js";

const PAGE_SIZE = 25;

/** Renders the executions page into `container`. `params`: job, status, before (from the address). */
export function executionsView(container, params, ctx) {
    const filters = {
        job: params.get("job") ?? "",
        status: params.get("status") ?? "",
        before: params.get("before") ?? "",
    };
    const rows = new Map(); // execution id → row
    const pending = new Map(); // id being fetched after an event → whether another event came meanwhile
    let nextBefore = null;
    let disposed = false;

    // Filters: changing one navigates (the address holds the filters, so back and reload keep them).
    const jobSelect = h("select", { id: "filter-job", name: "job" }, h("option", { value: "" }, "All jobs"));
    if (filters.job) jobSelect.append(h("option", { value: filters.job }, filters.job));
    jobSelect.value = filters.job;
    const statusSelect = h(
        "select",
        { id: "filter-status", name: "status" },
        h("option", { value: "" }, "All statuses"),
        STATUSES.map((status) => h("option", { value: status }, status))
    );
    statusSelect.value = filters.status;
    const applyFilters = () => {
        ctx.navigate(`#/executions${query({ job: jobSelect.value, status: statusSelect.value })}`);
    };
    jobSelect.addEventListener("change", applyFilters);
    statusSelect.addEventListener("change", applyFilters);
    ctx.jobs().then(
        (jobs) => {
            if (disposed) return;
            const options = jobs.map((job) => h("option", { value: job.name }, job.name));
            replace(jobSelect, h("option", { value: "" }, "All jobs"), options);
            if (filters.job && !jobs.some((job) => job.name === filters.job)) {
                jobSelect.append(h("option", { value: filters.job }, filters.job)); // a job this server does not know
            }
            jobSelect.value = filters.job;
        },
        () => {}
    );

    const tbody = h("tbody");
    const table = h(
        "table",
        { class: "grid executions", "aria-describedby": "executions-caption" },
        h(
            "caption",
            { id: "executions-caption", class: "visually-hidden" },
            "Job executions, newest first. Status changes appear as they happen."
        ),
        h(
            "thead",
            {},
            h(
                "tr",
                {},
                h("th", { scope: "col", class: "c-id" }, "ID"),
                h("th", { scope: "col", class: "c-job" }, "Job"),
                h("th", { scope: "col", class: "c-status" }, "Status"),
                h("th", { scope: "col", class: "c-progress" }, "Progress"),
                h("th", { scope: "col", class: "c-time" }, "Started"),
                h("th", { scope: "col", class: "c-duration num" }, "Duration"),
                h("th", { scope: "col", class: "c-worker" }, "Worker"),
                h("th", { scope: "col", class: "c-message" }, "Exit message")
            )
        ),
        tbody
    );
    const message = h("p", { class: "table-message", role: "status" });
    const toNewest = () => ctx.navigate(`#/executions${query({ job: filters.job, status: filters.status })}`);
    const toOlder = () => ctx.navigate(`#/executions${query({ ...filters, before: nextBefore })}`);
    const newest = h("button", { type: "button", class: "button", onclick: toNewest }, "Newest");
    const older = h("button", { type: "button", class: "button", onclick: toOlder }, "Older ›");
    const pageInfo = h("span", { class: "page-info" });

    replace(
        container,
        h("div", { class: "page-head" }, h("h1", {}, "Executions")),
        h(
            "form",
            {
                class: "filters",
                role: "search",
                "aria-label": "Filter executions",
                onsubmit: (event) => event.preventDefault(),
            },
            h("div", { class: "field inline" }, h("label", { for: jobSelect.id }, "Job"), jobSelect),
            h("div", { class: "field inline" }, h("label", { for: statusSelect.id }, "Status"), statusSelect)
        ),
        h("div", { class: "table-wrap" }, table),
        message,
        h("nav", { class: "pager", "aria-label": "Pages of executions" }, newest, pageInfo, older)
    );

    /** A row for an execution, its cells kept for in-place updates. */
    function makeRow(execution) {
        const label = `Execution ${execution.id}`;
        const link = h("a", { href: `#/executions/${execution.id}`, "aria-label": label }, `#${execution.id}`);
        const cells = {
            id: h("td", { class: "c-id num" }, link),
            job: h("td", { class: "c-job" }),
            badge: statusBadge(execution.status),
            progress: progressBar(`Progress of execution ${execution.id}`),
            started: h("td", { class: "c-time num" }),
            duration: h("td", { class: "c-duration num" }),
            worker: h("td", { class: "c-worker" }),
            message: h("td", { class: "c-message" }),
        };
        const tr = h(
            "tr",
            { dataset: { id: String(execution.id) } },
            cells.id,
            cells.job,
            h("td", { class: "c-status" }, cells.badge),
            h("td", { class: "c-progress" }, cells.progress),
            cells.started,
            cells.duration,
            cells.worker,
            cells.message
        );
        // The whole row opens the execution on a click; keyboard users have the link.
        tr.addEventListener("click", (event) => {
            if (event.target.closest("a, button") || window.getSelection()?.toString()) return;
            ctx.navigate(`#/executions/${execution.id}`);
        });
        const row = { tr, cells, execution };
        fill(row, execution);
        return row;
    }

    function fill(row, execution) {
        row.execution = execution;
        setText(row.cells.job, execution.jobName);
        row.cells.job.title = execution.jobName;
        setStatus(row.cells.badge, execution.status);
        const started = execution.startTime ?? execution.createTime;
        setText(row.cells.started, formatShortTime(started));
        row.cells.started.title = started ? `${formatTime(started)} (${started})` : "";
        setText(row.cells.duration, formatDuration(execution.startTime, execution.endTime));
        setText(row.cells.worker, execution.workerId ?? "–");
        row.cells.worker.title = execution.workerId ?? "";
        setText(row.cells.message, execution.exitMessage || "");
        row.cells.message.title = execution.exitMessage || "";
        row.tr.dataset.status = execution.status;
        const progress = isRunning(execution.status) ? progressOf(execution.id) : null;
        setProgress(row.cells.progress, progress, { compact: true });
    }

    function matches(execution) {
        const job = !filters.job || execution.jobName === filters.job;
        return job && (!filters.status || execution.status === filters.status);
    }

    function showMessage() {
        if (rows.size === 0) {
            const filtered = filters.job || filters.status;
            setText(message, filtered ? "No executions match these filters." : "No executions yet. Start a job.");
        } else {
            setText(message, "");
        }
        const ids = [...rows.keys()];
        setText(pageInfo, ids.length ? `#${Math.max(...ids)} – #${Math.min(...ids)}` : "");
        newest.disabled = !filters.before;
        older.disabled = nextBefore === null || nextBefore === undefined;
    }

    /** Puts a row in id order (newest first) and keeps the page at its size. */
    function insert(execution) {
        const row = makeRow(execution);
        rows.set(execution.id, row);
        const after = [...tbody.children].find((tr) => Number(tr.dataset.id) < execution.id);
        tbody.insertBefore(row.tr, after ?? null);
        while (rows.size > PAGE_SIZE) {
            const last = tbody.lastElementChild;
            rows.delete(Number(last.dataset.id));
            last.remove();
            nextBefore = Math.min(...rows.keys());
        }
        showMessage();
    }

    async function load() {
        table.setAttribute("aria-busy", "true");
        try {
            const { job, status, before } = filters;
            const page = await api(`/api/executions${query({ job, status, before, limit: PAGE_SIZE })}`);
            if (disposed) return;
            nextBefore = page?.nextBefore ?? null;
            const executions = page?.executions ?? [];
            const seen = new Set();
            const ordered = [];
            for (const execution of executions) {
                seen.add(execution.id);
                const row = rows.get(execution.id);
                if (row) fill(row, execution);
                ordered.push(row ?? makeRow(execution));
            }
            for (const [id, row] of rows) if (!seen.has(id)) row.tr.remove();
            rows.clear();
            for (const row of ordered) rows.set(row.execution.id, row);
            // Reorders only what moved: rows that stay keep their elements (and any focus inside them).
            ordered.forEach((row, index) => {
                if (tbody.children[index] !== row.tr) tbody.insertBefore(row.tr, tbody.children[index] ?? null);
            });
            showMessage();
        } catch (error) {
            if (!disposed) ctx.showError(message, error);
        } finally {
            table.removeAttribute("aria-busy");
        }
    }

    /** Fetches one execution after an event and shows it (new at the top, or updated in place). */
    async function refresh(id) {
        if (pending.has(id)) {
            pending.set(id, true); // fetch again once this one is back: it may predate the event
            return;
        }
        pending.set(id, false);
        try {
            const execution = await api(`/api/executions/${id}`);
            if (disposed || !execution) return;
            const row = rows.get(id);
            if (row) fill(row, execution);
            else if (!filters.before && matches(execution)) insert(execution);
        } catch {
            // Gone or unreachable: the next resync shows the truth.
        } finally {
            const again = pending.get(id);
            pending.delete(id);
            if (again && !disposed) refresh(id);
        }
    }

    load();

    return {
        onEvent(kind, event) {
            const id = Number(event.executionId);
            if (!Number.isFinite(id)) return;
            const row = rows.get(id);
            if (kind === "progress") {
                if (row && isRunning(row.execution.status)) {
                    setProgress(row.cells.progress, progressOf(id), { compact: true });
                }
                return;
            }
            if (!isRunning(event.status)) forgetProgress(id);
            if (row) {
                const execution = { ...row.execution, status: event.status };
                if (typeof event.exitMessage === "string") execution.exitMessage = event.exitMessage;
                if (!isRunning(event.status) && !execution.endTime) execution.endTime = event.time ?? null;
                fill(row, execution);
                refresh(id); // start and end times, worker
            } else if (!filters.before && (!filters.job || event.jobName === filters.job)) {
                const newestId = Math.max(0, ...rows.keys());
                if (id > newestId || rows.size < PAGE_SIZE) refresh(id);
            }
        },
        resync: load,
        tick() {
            for (const row of rows.values()) {
                if (!isRunning(row.execution.status)) continue;
                setText(row.cells.duration, formatDuration(row.execution.startTime, row.execution.endTime));
            }
        },
        /** Shows a just-started execution at once, before its first event arrives. */
        started(id) {
            refresh(id);
        },
        unmount() {
            disposed = true;
        },
    };
}
