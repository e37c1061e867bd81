// Modal dialogs (native <dialog>: focus is trapped, Escape cancels, focus returns to the opener): the
// confirmation of an operation, starting a job, and asking for the API token.

import { ApiError } from "./api.js";
import { h, replace, setText } from "./dom.js";

let nextId = 0;

/** A dialog with a title, a body and a row of buttons; removed from the page when closed. */
function makeDialog(title, { wide = false } = {}) {
    const id = `dialog-${++nextId}`;
    const heading = h("h2", { id: `${id}-title` }, title);
    const body = h("div", { class: "dialog-body" });
    const error = h("p", { class: "dialog-error", role: "alert", id: `${id}-error` });
    const buttons = h("div", { class: "dialog-buttons" });
    const form = h("form", { method: "dialog", novalidate: true }, heading, body, error, buttons);
    const dialog = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": `${id}-title` }, form);
    const opener = document.activeElement;
    // Escape cancels, except while the dialog's request runs (it would go on unseen).
    dialog.addEventListener("cancel", (event) => {
        if (form.getAttribute("aria-busy") === "true") event.preventDefault();
    });
    dialog.addEventListener("close", () => {
        dialog.remove();
        if (opener && typeof opener.focus === "function" && document.contains(opener)) opener.focus();
    });
    document.body.append(dialog);
    return { id, dialog, form, body, error, buttons };
}

/** Shows an error in a dialog (or clears it). */
function showError(parts, message) {
    setText(parts.error, message ?? "");
    parts.error.classList.toggle("is-shown", Boolean(message));
}

/** Disables a dialog's controls while its request runs. */
function setBusy(parts, busy) {
    for (const control of parts.form.querySelectorAll("button, input, select, textarea")) control.disabled = busy;
    parts.form.setAttribute("aria-busy", busy ? "true" : "false");
}

/** The text of an error for people. */
export function describeError(error) {
    if (error instanceof ApiError) {
        if (error.status === 0) return "The server cannot be reached. Check that `swiftbatch server` is running.";
        return error.message;
    }
    return error?.message ?? String(error);
}

/**
 * Asks before an operation. `run` is called on confirmation; while it runs the buttons are disabled; if it fails
 * the dialog stays open with the server's message. Resolves with run's result, or null when cancelled.
 */
export function confirmAction({ title, message, confirmLabel, danger = false, run }) {
    return new Promise((resolve) => {
        const parts = makeDialog(title);
        replace(parts.body, h("p", {}, message));
        const kind = danger ? "button danger" : "button primary";
        const confirm = h("button", { type: "submit", class: kind, value: "confirm" }, confirmLabel);
        const cancel = h("button", { type: "button", class: "button", onclick: () => parts.dialog.close() }, "Cancel");
        replace(parts.buttons, cancel, confirm);
        let result = null;
        parts.form.addEventListener("submit", async (event) => {
            event.preventDefault();
            showError(parts, null);
            setBusy(parts, true);
            try {
                result = (await run()) ?? true;
                parts.dialog.close();
            } catch (error) {
                setBusy(parts, false);
                showError(parts, describeError(error));
                confirm.focus();
            }
        });
        parts.dialog.addEventListener("close", () => resolve(result));
        parts.dialog.showModal();
        cancel.focus(); // the safe choice has the focus
    });
}

/**
 * The start dialog: a registered job and its parameters as a JSON object. `loadJobs` gives the jobs
 * ([{name, description?, parameters?}]); `start(job, params)` posts the start. Resolves with {job, answer} on
 * success, null when cancelled.
 */
export function startDialog({ loadJobs, start, job: preselected }) {
    return new Promise((resolve) => {
        const parts = makeDialog("Start a job", { wide: true });
        const select = h(
            "select",
            { id: `${parts.id}-job`, name: "job", required: true },
            h("option", { value: "" }, "Loading jobs…")
        );
        const about = h("p", { class: "field-help", id: `${parts.id}-about` });
        const params = h("textarea", {
            id: `${parts.id}-params`,
            name: "params",
            rows: "6",
            spellcheck: "false",
            autocapitalize: "off",
            autocomplete: "off",
            "aria-describedby": `${parts.id}-params-help ${parts.id}-error`,
        });
        params.value = "{}";
        replace(
            parts.body,
            h("div", { class: "field" }, h("label", { for: select.id }, "Job"), select, about),
            h(
                "div",
                { class: "field" },
                h("label", { for: params.id }, "Parameters (a JSON object)"),
                params,
                h(
                    "p",
                    { class: "field-help", id: `${parts.id}-params-help` },
                    "For example ",
                    h("code", {}, '{"date": "2026-11-25"}'),
                    ". The server checks them as the workers would; nothing is stored when they are refused."
                )
            )
        );
        const submit = h("button", { type: "submit", class: "button primary" }, "Start");
        const cancel = h("button", { type: "button", class: "button", onclick: () => parts.dialog.close() }, "Cancel");
        replace(parts.buttons, cancel, submit);

        let jobs = [];
        /** What the API says of the chosen job: its steps, and the parameters that do not identify an instance. */
        const describe = () => {
            const job = jobs.find((j) => j.name === select.value);
            const parts = [];
            if (job?.steps?.length) parts.push(`Steps: ${job.steps.join(" → ")}.`);
            if (job?.nonIdentifying?.length) parts.push(`Not part of the instance: ${job.nonIdentifying.join(", ")}.`);
            if (job?.schedules?.length) parts.push(`Schedules: ${job.schedules.join(", ")}.`);
            setText(about, parts.join(" "));
        };
        select.addEventListener("change", describe);
        loadJobs().then(
            (loaded) => {
                jobs = loaded;
                const options = loaded.map((job) => h("option", { value: job.name }, job.name));
                replace(select, h("option", { value: "" }, "Choose a job…"), options);
                if (preselected && loaded.some((job) => job.name === preselected)) select.value = preselected;
                else if (loaded.length === 1) select.value = loaded[0].name;
                describe();
            },
            (error) => {
                replace(select, h("option", { value: "" }, "No jobs"));
                showError(parts, `The jobs could not be loaded: ${describeError(error)}`);
            }
        );

        let result = null;
        parts.form.addEventListener("submit", async (event) => {
            event.preventDefault();
            showError(parts, null);
            params.removeAttribute("aria-invalid");
            select.removeAttribute("aria-invalid");
            const job = select.value;
            if (!job) {
                select.setAttribute("aria-invalid", "true");
                showError(parts, "Choose the job to start.");
                select.focus();
                return;
            }
            const text = params.value.trim() || "{}";
            let parsed;
            try {
                parsed = JSON.parse(text);
            } catch (error) {
                params.setAttribute("aria-invalid", "true");
                showError(parts, `The parameters are not valid JSON: ${error.message}`);
                params.focus();
                return;
            }
            if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
                params.setAttribute("aria-invalid", "true");
                showError(parts, "The parameters must be a JSON object, such as {} or {\"who\": \"me\"}.");
                params.focus();
                return;
            }
            setBusy(parts, true);
            try {
                // The text as typed: the server sees exactly what the operator wrote (duplicate keys included).
                const answer = await start(job, text);
                result = { job, answer };
                parts.dialog.close();
            } catch (error) {
                setBusy(parts, false);
                if (error instanceof ApiError && error.status === 400) params.setAttribute("aria-invalid", "true");
                showError(parts, describeError(error));
                params.focus();
            }
        });
        parts.dialog.addEventListener("close", () => resolve(result));
        parts.dialog.showModal();
        select.focus();
    });
}

/** Asks for the API token. Resolves with it; rejects when dismissed. */
export function tokenDialog(rejected) {
    return new Promise((resolve, reject) => {
        const parts = makeDialog("API token");
        const input = h("input", {
            id: `${parts.id}-token`,
            type: "password",
            name: "token",
            autocomplete: "current-password",
            required: true,
            "aria-describedby": `${parts.id}-help ${parts.id}-error`,
        });
        replace(
            parts.body,
            h(
                "p",
                { id: `${parts.id}-help` },
                "This server needs the token it was started with (BATCH_API_TOKEN). ",
                "It is kept in this browser tab only, until you close it."
            ),
            h("div", { class: "field" }, h("label", { for: input.id }, "Token"), input)
        );
        if (rejected) showError(parts, "The server refused that token. Check it and try again.");
        const submit = h("button", { type: "submit", class: "button primary" }, "Use token");
        const cancel = h("button", { type: "button", class: "button", onclick: () => parts.dialog.close() }, "Cancel");
        replace(parts.buttons, cancel, submit);
        let token = null;
        parts.form.addEventListener("submit", (event) => {
            event.preventDefault();
            if (!input.value.trim()) {
                showError(parts, "Enter the token.");
                input.focus();
                return;
            }
            token = input.value.trim();
            parts.dialog.close();
        });
        parts.dialog.addEventListener("close", () => {
            if (token) resolve(token);
            else reject(new ApiError(401, "No API token was given: this server needs one."));
        });
        parts.dialog.showModal();
        input.focus();
    });
}
