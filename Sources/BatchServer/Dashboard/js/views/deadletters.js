// The dead letters: commands that can never succeed as they are, with the reason each was set aside, its body,
// and a requeue (with confirmation) for when the cause is fixed. Refreshed every 15 seconds.

import { api } from "../api.js";
import { formatTime, h, replace, setText } from "../dom.js";
import { poll } from "../polling.js";

const REFRESH_MS = 15000;

/** Renders the dead letters page into `container`. */
export function deadLettersView(container, _params, ctx) {
    let signature = "";

    const list = h("ol", { class: "letters", "aria-label": "Dead letters, oldest first" });
    const message = h("p", { class: "table-message", role: "status" });
    const refresh = h("button", { type: "button", class: "button", onclick: () => poller.refresh() }, "Refresh");
    replace(
        container,
        h("div", { class: "page-head" }, h("h1", {}, "Dead letters"), refresh),
        h(
            "p",
            { class: "summary" },
            "Commands the workers set aside because they can never succeed as they are (bad JSON, an unknown " +
                "job, refused parameters), or that failed too many times. Oldest first; reading them leaves the " +
                "queue as it is."
        ),
        list,
        message
    );

    function item(letter, index) {
        const id = letter.id;
        const requeue = h(
            "button",
            {
                type: "button",
                class: "button small",
                "data-action": "requeue",
                disabled: !id,
                title: id ? "" : "Dead-lettered by the broker: it has no id to requeue by.",
                "aria-label": `Requeue dead letter ${index + 1}`,
            },
            "Requeue"
        );
        requeue.addEventListener("click", async () => {
            const done = await ctx.confirm({
                title: "Requeue dead letter",
                message:
                    "Send this command back to the commands queue with a fresh attempt count? Do it once its cause " +
                    "is fixed (the job deployed, the database back), or it comes back here.",
                confirmLabel: "Requeue",
                run: () => api(`/api/dead-letters/${encodeURIComponent(id)}/requeue`, { method: "POST" }),
            });
            if (done && !poller.stopped) {
                ctx.notify("Dead letter sent back to the commands queue.");
                poller.refresh();
            }
        });
        const body = letter.body ?? "";
        return h(
            "li",
            { class: "letter" },
            h(
                "div",
                { class: "letter-head" },
                h("span", { class: "reason-label" }, "Reason"),
                h(
                    "span",
                    { class: "num sub" },
                    letter.deadLettered
                        ? `set aside ${formatTime(letter.deadLettered)}`
                        : letter.published
                          ? `published ${formatTime(letter.published)}`
                          : ""
                ),
                requeue
            ),
            h("p", { class: "reason" }, letter.reason || "(no reason recorded)"),
            h(
                "dl",
                { class: "facts compact" },
                h("dt", {}, "Queue"),
                h("dd", {}, letter.originalQueue ?? "–"),
                h("dt", {}, "Id"),
                h("dd", { class: "mono" }, id ?? "–")
            ),
            h("details", {}, h("summary", {}, `Body (${body.length} characters)`), h("pre", { class: "body" }, body))
        );
    }

    const poller = poll(REFRESH_MS, message, ctx, async (isStopped) => {
        const answer = await api("/api/dead-letters?limit=100");
        if (isStopped()) return;
        const letters = answer?.deadLetters ?? [];
        // Re-render only when something changed, so open bodies stay open.
        const next = JSON.stringify(letters);
        if (next !== signature) {
            signature = next;
            replace(list, letters.map(item));
        }
        setText(message, letters.length ? "" : "No dead letters: every command was handled.");
    });

    return {
        onEvent() {},
        resync: poller.refresh,
        tick() {},
        unmount: poller.stop,
    };
}
