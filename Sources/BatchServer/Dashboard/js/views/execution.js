// One execution: its record, parameters and exit message, its steps and partitions with counters and progress,
// and the operations its status allows. Kept live by the event stream (reloaded at most once a second while
// events arrive; progress bars move with every progress event).

import { api } from "../api.js";
import { formatCount, formatDuration, formatJSON, formatTime, h, replace, setText } from "../dom.js";
import { forgetProgress, progressBar, progressOf, setProgress } from "../progress.js";
import { ACTIONS, isRunning, setStatus, statusBadge } from "../status.js";

const COUNTERS = [
    ["read", "Read"],
    ["write", "Written"],
    ["filter", "Filtered"],
    ["commit", "Commits"],
    ["rollback", "Rollbacks"],
    ["skip", "Skips"],
];

/** A counter's value; "skip" is the sum of read, process and write skips. */
function counterValue(counters, key) {
    if (key !== "skip") return counters?.[key];
    return (counters?.readSkip ?? 0) + (counters?.processSkip ?? 0) + (counters?.writeSkip ?? 0);
}

/** Renders execution `id` into `container`. */
export function executionView(container, id, ctx) {
    let execution = null;
    let disposed = false;
    let reloadTimer = null;
    let lastLoad = 0;
    let loading = false;
    let loadAgain = false;
    const stepRows = new Map(); // step execution id → row

    const title = h("h1", {}, `Execution ${id}`);
    const badge = statusBadge("UNKNOWN");
    badge.classList.add("large");
    badge.setAttribute("aria-live", "polite"); // a screen reader hears the status change as it happens
    const buttons = {};
    for (const [name, action] of Object.entries(ACTIONS)) {
        buttons[name] = h(
            "button",
            {
                type: "button",
                class: action.danger ? "button danger" : "button",
                "data-action": name,
                disabled: true,
                onclick: () => operate(name),
            },
            action.label
        );
    }
    const facts = {};
    const fact = (key, label) => {
        facts[key] = h("dd", {}, "–");
        return h("div", { class: "fact" }, h("dt", {}, label), facts[key]);
    };
    const summary = h(
        "dl",
        { class: "facts" },
        fact("job", "Job"),
        fact("instance", "Instance"),
        fact("worker", "Worker"),
        fact("created", "Created"),
        fact("started", "Started"),
        fact("ended", "Ended"),
        fact("duration", "Duration"),
        fact("exitCode", "Exit code"),
        fact("schedule", "Schedule")
    );
    const overall = progressBar(`Progress of execution ${id}`);
    summary.append(h("div", { class: "fact" }, h("dt", {}, "Progress"), h("dd", {}, overall)));
    const exitMessage = h("pre", { class: "exit-message", "aria-labelledby": "exit-heading" });
    const parameters = h("pre", { class: "parameters", "aria-labelledby": "parameters-heading" });
    const stepsBody = h("tbody");
    const totalsRow = h("tr", { class: "totals" });
    const message = h("p", { class: "table-message", role: "status" });
    const stepsTable = h(
        "table",
        { class: "grid steps", "aria-labelledby": "steps-heading" },
        h(
            "thead",
            {},
            h(
                "tr",
                {},
                h("th", { scope: "col", class: "c-step" }, "Step"),
                h("th", { scope: "col", class: "c-status" }, "Status"),
                h("th", { scope: "col", class: "c-progress" }, "Progress"),
                COUNTERS.map(([, label]) => h("th", { scope: "col", class: "num c-counter" }, label)),
                h("th", { scope: "col", class: "c-duration num" }, "Duration"),
                h("th", { scope: "col", class: "c-message" }, "Exit message")
            )
        ),
        stepsBody,
        h("tfoot", {}, totalsRow)
    );

    replace(
        container,
        h("p", { class: "breadcrumb" }, h("a", { href: "#/executions" }, "‹ Executions")),
        h(
            "div",
            { class: "page-head" },
            h("div", { class: "title-line" }, title, badge),
            h("div", { class: "actions", role: "group", "aria-label": "Operations" }, Object.values(buttons))
        ),
        summary,
        h("section", { class: "block" }, h("h2", { id: "exit-heading" }, "Exit message"), exitMessage),
        h(
            "section",
            { class: "block" },
            h("h2", { id: "steps-heading" }, "Steps"),
            h("div", { class: "table-wrap" }, stepsTable),
            message
        ),
        h("section", { class: "block" }, h("h2", { id: "parameters-heading" }, "Parameters"), parameters)
    );

    async function operate(name) {
        if (!execution) return;
        const done = await ctx.operate(name, execution);
        if (done && !disposed) scheduleReload(0);
    }

    /** Offers the operations the status allows; the others stay in place, disabled, saying why. */
    function renderActions() {
        const status = execution?.status;
        for (const [name, action] of Object.entries(ACTIONS)) {
            const allowed = Boolean(status) && action.allowed(status);
            buttons[name].disabled = !allowed;
            buttons[name].title = allowed ? "" : action.why;
        }
    }

    function renderSummary() {
        setText(title, `Execution ${execution.id}`);
        document.title = `Execution ${execution.id} · ${execution.jobName} · swift-batch`;
        setStatus(badge, execution.status);
        setText(facts.job, execution.jobName);
        setText(facts.instance, execution.instance?.id ?? execution.instanceId ?? "–");
        setText(facts.worker, execution.workerId ?? "–");
        const times = { created: execution.createTime, started: execution.startTime, ended: execution.endTime };
        for (const [key, value] of Object.entries(times)) {
            setText(facts[key], formatTime(value));
            facts[key].title = value ?? ""; // the server's ISO 8601 UTC, as in the logs
        }
        setText(facts.duration, formatDuration(execution.startTime, execution.endTime));
        setText(facts.exitCode, execution.exitCode || "–");
        const schedule = execution.schedule;
        setText(facts.schedule, schedule ? `${schedule.schedule}, slot ${formatTime(schedule.slot)}` : "–");
        setText(exitMessage, execution.exitMessage || "–");
        exitMessage.classList.toggle("is-empty", !execution.exitMessage);
        exitMessage.classList.toggle("is-failure", execution.status === "FAILED" || execution.status === "UNKNOWN");
        setText(parameters, formatJSON(execution.parameters, true));
        setProgress(overall, isRunning(execution.status) ? progressOf(execution.id) : null);
        renderActions();
    }

    function makeStepRow(step, partition) {
        const cells = {
            name: h("th", { scope: "row", class: "c-step" }),
            badge: statusBadge(step.status),
            progress: progressBar(`Progress of ${partition ? "partition" : "step"} ${step.name}`),
            counters: COUNTERS.map(() => h("td", { class: "num c-counter" })),
            duration: h("td", { class: "c-duration num" }),
            message: h("td", { class: "c-message" }),
        };
        const tr = h(
            "tr",
            { class: partition ? "partition" : "step", dataset: { step: step.name } },
            cells.name,
            h("td", { class: "c-status" }, cells.badge),
            h("td", { class: "c-progress" }, cells.progress),
            cells.counters,
            cells.duration,
            cells.message
        );
        return { tr, cells, step, partition };
    }

    function fillStepRow(row, step, fullName) {
        row.step = step;
        row.fullName = fullName;
        const arrow = h("span", { class: "partition-mark", "aria-hidden": "true" }, "↳ ");
        const mark = row.partition ? [arrow, h("span", { class: "visually-hidden" }, "Partition ")] : [];
        replace(row.cells.name, mark, step.name);
        row.cells.name.title = fullName;
        setStatus(row.cells.badge, step.status);
        COUNTERS.forEach(([key], index) => {
            setText(row.cells.counters[index], formatCount(counterValue(step.counters, key)));
        });
        setText(row.cells.duration, formatDuration(step.startTime, step.endTime));
        setText(row.cells.message, step.exitMessage || "");
        row.cells.message.title = step.exitMessage || "";
        const progress = isRunning(step.status) ? progressOf(execution.id, fullName) : null;
        setProgress(row.cells.progress, progress, { compact: true });
    }

    function renderSteps() {
        const ordered = [];
        for (const step of execution.steps ?? []) {
            ordered.push({ step, partition: false, fullName: step.name });
            // Partitions by name, as `swiftbatch execution` lists them; they finish in any order.
            const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
            const partitions = [...(step.partitions ?? [])].sort(byName);
            for (const partition of partitions) {
                ordered.push({ step: partition, partition: true, fullName: `${step.name}:${partition.name}` });
            }
        }
        const seen = new Set();
        ordered.forEach(({ step, partition, fullName }, index) => {
            seen.add(step.id);
            let row = stepRows.get(step.id);
            if (!row) {
                row = makeStepRow(step, partition);
                stepRows.set(step.id, row);
            }
            fillStepRow(row, step, fullName);
            if (stepsBody.children[index] !== row.tr) stepsBody.insertBefore(row.tr, stepsBody.children[index] ?? null);
        });
        for (const [stepId, row] of stepRows) {
            if (!seen.has(stepId)) {
                row.tr.remove();
                stepRows.delete(stepId);
            }
        }
        replace(
            totalsRow,
            h("th", { scope: "row", class: "c-step" }, "Total"),
            h("td", { class: "c-status" }),
            h("td", { class: "c-progress" }),
            COUNTERS.map(([key]) => {
                return h("td", { class: "num c-counter" }, formatCount(counterValue(execution.counters, key)));
            }),
            h("td", { class: "c-duration num" }),
            h("td", { class: "c-message" })
        );
        const none = isRunning(execution.status) ? "No step has started yet." : "This execution ran no step.";
        setText(message, ordered.length ? "" : none);
    }

    /** Loads the execution; one request at a time, and once more if asked while one ran (it may predate an event). */
    async function load() {
        if (loading) {
            loadAgain = true;
            return;
        }
        loading = true;
        loadAgain = false;
        lastLoad = Date.now();
        try {
            const loaded = await api(`/api/executions/${id}`);
            if (disposed || !loaded) return;
            execution = loaded;
            if (!isRunning(execution.status)) forgetProgress(execution.id);
            renderSummary();
            renderSteps();
        } catch (error) {
            if (!disposed) ctx.showError(message, error);
        } finally {
            loading = false;
            if (loadAgain && !disposed) scheduleReload();
        }
    }

    /** Reloads soon, at most once a second however many events arrive. */
    function scheduleReload(delay) {
        if (reloadTimer !== null) return;
        const wait = delay ?? Math.max(0, 1000 - (Date.now() - lastLoad));
        reloadTimer = setTimeout(() => {
            reloadTimer = null;
            load();
        }, wait);
    }

    load();

    return {
        onEvent(kind, event) {
            if (Number(event.executionId) !== Number(id)) return;
            if (kind === "progress") {
                if (!execution || !isRunning(execution.status)) return;
                setProgress(overall, progressOf(id));
                for (const row of stepRows.values()) {
                    if (!isRunning(row.step.status)) continue;
                    setProgress(row.cells.progress, progressOf(id, row.fullName), { compact: true });
                }
                scheduleReload(); // the counters
                return;
            }
            if (execution && typeof event.status === "string") {
                execution = { ...execution, status: event.status };
                if (typeof event.exitMessage === "string" && event.exitMessage) {
                    execution.exitMessage = event.exitMessage;
                }
                if (!isRunning(event.status)) forgetProgress(id);
                renderSummary();
            }
            scheduleReload(0);
        },
        resync: load,
        tick() {
            if (!execution || !isRunning(execution.status)) return;
            // Counters change with each chunk commit, whether or not the workers publish progress: poll gently.
            if (Date.now() - lastLoad > 3000) scheduleReload(0);
            setText(facts.duration, formatDuration(execution.startTime, execution.endTime));
            for (const row of stepRows.values()) {
                if (!isRunning(row.step.status)) continue;
                setText(row.cells.duration, formatDuration(row.step.startTime, row.step.endTime));
            }
        },
        unmount() {
            disposed = true;
            if (reloadTimer !== null) clearTimeout(reloadTimer);
        },
    };
}
