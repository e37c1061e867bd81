// The dashboard's entry point: the router (#/executions, #/executions/42, #/workers, #/schedules,
// #/dead-letters), the one live event stream, the operations with their confirmations, and notices.
//
// Authentication: with BATCH_API_TOKEN set on the server, the first request that meets 401 opens a dialog asking for
// the token; it is kept in sessionStorage (this tab only) and sent as `Authorization: Bearer <token>` on every
// request, the event stream included (read with fetch(), see events.js), so no token travels in a URL or cookie.

import { api, auth } from "./api.js";
import { confirmAction, describeError, startDialog, tokenDialog } from "./dialogs.js";
import { h, replace, setText } from "./dom.js";
import { LiveEvents } from "./events.js";
import { recordProgress } from "./progress.js";
import { ACTIONS } from "./status.js";
import { deadLettersView } from "./views/deadletters.js";
import { executionView } from "./views/execution.js";
import { executionsView } from "./views/executions.js";
import { schedulesView } from "./views/schedules.js";
import { workersView } from "./views/workers.js";

const main = document.getElementById("main");
const notices = document.getElementById("notices");
const liveState = document.getElementById("live-state");
const liveText = liveState.querySelector(".live-text");

auth.ask = (rejected) => tokenDialog(rejected);

let view = null;
let jobsPromise = null;
let firstRoute = true;

/** Shows a notice for a few seconds (announced politely to screen readers). */
function notify(text, { link, kind = "info" } = {}) {
    const close = h("button", { type: "button", class: "notice-close", "aria-label": "Dismiss" }, "×");
    const body = h("span", {}, text, link ? [" ", h("a", { href: link.href }, link.text)] : []);
    const role = kind === "error" ? "alert" : "status";
    const notice = h("div", { class: `notice notice-${kind}`, role }, body, close);
    const dismiss = () => notice.remove();
    close.addEventListener("click", dismiss);
    notices.append(notice);
    setTimeout(dismiss, kind === "error" ? 12000 : 8000);
    while (notices.children.length > 4) notices.firstElementChild.remove();
}

/** Shows an error in a view's message line; for a missing token, with a button to enter it. */
function showError(element, error) {
    if (error?.status === 401) {
        const enter = async () => {
            try {
                auth.token = await tokenDialog(false);
                view?.resync?.();
            } catch {
                // Dismissed again.
            }
        };
        const button = h("button", { type: "button", class: "button small", onclick: enter }, "Enter the token");
        replace(element, describeError(error), " ", button);
    } else {
        replace(element, h("span", { class: "error-text" }, describeError(error)));
    }
}

const ctx = {
    navigate(hash) {
        if (location.hash === hash) route();
        else location.hash = hash;
    },
    /** The registered jobs (GET /api/jobs), loaded once per page. */
    jobs(fresh = false) {
        if (!jobsPromise || fresh) {
            jobsPromise = api("/api/jobs").then((answer) => answer?.jobs ?? []);
            jobsPromise.catch(() => (jobsPromise = null));
        }
        return jobsPromise;
    },
    async startJob(preselected) {
        const result = await startDialog({
            job: preselected,
            loadJobs: () => ctx.jobs(true),
            start: (job, body) => api(`/api/jobs/${encodeURIComponent(job)}/start`, { method: "POST", body }),
        });
        if (!result) return;
        const id = result.answer?.executionId;
        const link = { href: `#/executions/${id}`, text: "Open it" };
        notify(`Job “${result.job}” started as execution ${id}.`, { link });
        view?.started?.(id);
    },
    /** Stop, restart or abandon an execution, after confirmation. Resolves with the answer, or null. */
    async operate(name, execution) {
        const action = ACTIONS[name];
        const answer = await confirmAction({
            title: `${action.label} execution ${execution.id}`,
            message: action.confirm(execution),
            confirmLabel: `${action.label} execution`,
            danger: Boolean(action.danger),
            run: () => api(`/api/executions/${execution.id}/${name}`, { method: "POST" }),
        });
        if (!answer) return null;
        const newId = name === "restart" ? answer?.executionId : null;
        const link = newId && newId !== execution.id ? { href: `#/executions/${newId}`, text: "Open it" } : null;
        notify(action.done(execution, answer), link ? { link } : {});
        return answer;
    },
    confirm: confirmAction,
    notify,
    showError,
};

/** The pages: the address, the tab it belongs to, its title, and how to make it (m: the match, q: the query). */
const ROUTES = [
    { pattern: /^#\/executions\/(\d+)$/, nav: "executions", make: (m) => executionView(main, Number(m[1]), ctx) },
    {
        pattern: /^#\/executions$/,
        nav: "executions",
        title: "Executions",
        make: (_, q) => executionsView(main, q, ctx),
    },
    { pattern: /^#\/workers$/, nav: "workers", title: "Workers", make: (_, q) => workersView(main, q, ctx) },
    { pattern: /^#\/schedules$/, nav: "schedules", title: "Schedules", make: (_, q) => schedulesView(main, q, ctx) },
    {
        pattern: /^#\/dead-letters$/,
        nav: "dead-letters",
        title: "Dead letters",
        make: (_, q) => deadLettersView(main, q, ctx),
    },
];

function route() {
    const hash = location.hash || "#/executions";
    const [path, search = ""] = hash.split("?");
    const params = new URLSearchParams(search);
    let matched = null;
    let match = null;
    for (const candidate of ROUTES) {
        match = candidate.pattern.exec(path);
        if (match) {
            matched = candidate;
            break;
        }
    }
    if (!matched) {
        location.replace("#/executions");
        return;
    }
    view?.unmount();
    document.title = matched.title ? `${matched.title} · swift-batch` : "swift-batch";
    for (const link of document.querySelectorAll("[data-nav]")) {
        if (link.dataset.nav === matched.nav) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
    }
    main.setAttribute("aria-busy", "true");
    view = matched.make(match, params);
    main.removeAttribute("aria-busy");
    // After a navigation (not the first load), focus the page's heading so screen readers announce it.
    if (!firstRoute) {
        const heading = main.querySelector("h1");
        if (heading) {
            heading.tabIndex = -1;
            heading.focus({ preventScroll: false });
        }
    }
    firstRoute = false;
}

const STATES = {
    connecting: ["Connecting…", "connecting"],
    live: ["Live", "live"],
    closed: ["Offline", "offline"],
    locked: ["Needs the API token", "offline"],
};

const events = new LiveEvents({
    onEvent({ kind, event }) {
        if (kind === "progress") recordProgress(event);
        view?.onEvent(kind, event);
    },
    onState(state, seconds) {
        const retrying = [`Offline · retry in ${seconds} s`, "offline"];
        const [text, css] = state === "retrying" ? retrying : (STATES[state] ?? [state, "offline"]);
        setText(liveText, text);
        liveState.dataset.state = css;
        liveState.title =
            css === "live"
                ? "Receiving the workers' events as they happen."
                : "Not receiving events: what you see may be out of date until it reconnects.";
    },
    onResync() {
        view?.resync?.();
    },
});

document.getElementById("start-job").addEventListener("click", () => ctx.startJob());
window.addEventListener("hashchange", route);
setInterval(() => view?.tick?.(), 1000);
route();
events.start();
