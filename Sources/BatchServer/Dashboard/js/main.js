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
    const notice = h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, h("span", {}, text, link ? [" ", h("a", { href: link.href }, link.text)] : []), close);
    const dismiss = () => notice.remove();
    close.addEventListener("click", dismiss);
    notices.append(notice);
    setTimeout(dismiss, kind === "error" ? 12000 : 8000);
    while (notices.children.length > 4) notices.firstElementChild.remove();
}

/** Shows an error in a view's message line; for a missing token, with a button to enter it. */
function showError(element, error) {
    if (error?.status === 401) {
        replace(element, describeError(error), " ", h("button", { type: "button", class: "button small", onclick: () => tokenDialog(false).then((token) => ((auth.token = token), view?.resync?.()), () => {}) }, "Enter the token"));
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
        notify(`Job “${result.job}” started as execution ${id}.`, { link: { href: `#/executions/${id}`, text: "Open it" } });
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
        notify(action.done(execution, answer), newId && newId !== execution.id ? { link: { href: `#/executions/${newId}`, text: "Open it" } } : {});
        return answer;
    },
    confirm: confirmAction,
    notify,
    showError,
};

const ROUTES = [
    { pattern: /^#\/executions\/(\d+)$/, nav: "executions", make: (match) => executionView(main, Number(match[1]), ctx) },
    { pattern: /^#\/executions$/, nav: "executions", title: "Executions", make: (_match, params) => executionsView(main, params, ctx) },
    { pattern: /^#\/workers$/, nav: "workers", title: "Workers", make: (_match, params) => workersView(main, params, ctx) },
    { pattern: /^#\/schedules$/, nav: "schedules", title: "Schedules", make: (_match, params) => schedulesView(main, params, ctx) },
    { pattern: /^#\/dead-letters$/, nav: "dead-letters", title: "Dead letters", make: (_match, params) => deadLettersView(main, params, ctx) },
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
        const [text, css] = state === "retrying" ? [`Offline · retry in ${seconds} s`, "offline"] : STATES[state] ?? [state, "offline"];
        setText(liveText, text);
        liveState.dataset.state = css;
        liveState.title =
            css === "live" ? "Receiving the workers' events as they happen." : "Not receiving events: what you see may be out of date until it reconnects.";
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
