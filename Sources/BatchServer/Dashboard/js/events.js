// The live event stream (/api/events), read with fetch() rather than EventSource.
//
// Why: EventSource cannot send headers, and with BATCH_API_TOKEN set every request needs
// `Authorization: Bearer <token>`. So the dashboard opens GET /api/events with fetch(), sending the same
// Authorization header as every other request, and parses text/event-stream itself (the WHATWG rules: `event:`,
// `data:` lines joined by "\n", `id:`, `retry:`, comments, a blank line ends an event). The server needs nothing
// special for the browser: no token in the URL (it would land in logs and history), no cookie. On reconnect the
// dashboard sends `Last-Event-ID` when the server gave ids, and reloads what it shows in any case (events missed
// while away are not replayed by the broker).

import { ApiError, askForToken, authHeaders, currentToken, errorMessage, nextToken } from "./api.js";

/** How long the stream may be silent (no event, no keep-alive comment) before it is taken for dead. */
const SILENCE_MS = 45000;

/** Parses a text/event-stream incrementally: feed() chunks of text, get complete events back. */
export class EventStreamParser {
    constructor() {
        this.buffer = "";
        this.reset();
        this.lastEventId = "";
        this.retry = null;
    }

    reset() {
        this.eventType = "";
        this.data = [];
        this.hasData = false;
    }

    /** Returns the events completed by this chunk: [{type, data, id}]. */
    feed(chunk) {
        this.buffer += chunk;
        const events = [];
        for (;;) {
            const match = /\r\n|\r|\n/.exec(this.buffer);
            if (!match) break;
            // A lone "\r" at the very end may be the first half of "\r\n": wait for the next chunk.
            if (match[0] === "\r" && match.index === this.buffer.length - 1) break;
            const line = this.buffer.slice(0, match.index);
            this.buffer = this.buffer.slice(match.index + match[0].length);
            const event = this.line(line);
            if (event) events.push(event);
        }
        return events;
    }

    line(line) {
        if (line === "") {
            if (!this.hasData) {
                this.reset();
                return null;
            }
            const event = { type: this.eventType || "message", data: this.data.join("\n"), id: this.lastEventId };
            this.reset();
            return event;
        }
        if (line.startsWith(":")) return null;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        switch (field) {
            case "event":
                this.eventType = value;
                break;
            case "data":
                this.data.push(value);
                this.hasData = true;
                break;
            case "id":
                if (!value.includes("\0")) this.lastEventId = value;
                break;
            case "retry":
                if (/^\d+$/.test(value)) this.retry = Number(value);
                break;
        }
        return null;
    }
}

/**
 * The dashboard's one connection to /api/events, reconnecting with backoff. Listeners get
 * `{kind: "status"|"progress", event}` for each event, and `onState(state, detail)` with "connecting", "live",
 * "retrying" (detail: seconds until the next attempt), "locked" (no token given) or "closed". After any reconnect
 * `onResync()` runs, so the views reload what they show.
 */
export class LiveEvents {
    constructor({ path = "/api/events", onEvent, onState, onResync }) {
        this.path = path;
        this.onEvent = onEvent;
        this.onState = onState;
        this.onResync = onResync;
        this.controller = null;
        this.stopped = false;
        this.lastEventId = "";
        this.failures = 0;
        this.connectedOnce = false;
    }

    start() {
        this.stopped = false;
        this.loop();
    }

    stop() {
        this.stopped = true;
        this.controller?.abort();
        this.onState?.("closed");
    }

    async loop() {
        let retryMs = null;
        while (!this.stopped) {
            this.onState?.("connecting");
            try {
                retryMs = await this.connect();
                this.failures = 0;
            } catch (error) {
                if (this.stopped) return;
                if (error instanceof ApiError && error.status === 401) {
                    if (currentToken() !== error.sentToken) continue; // a token came meanwhile: use it
                    try {
                        await askForToken(Boolean(error.sentToken));
                    } catch {
                        // Dismissed: do not ask again on every retry; wait until a token is given elsewhere.
                        this.onState?.("locked");
                        await nextToken();
                    }
                    continue;
                }
                this.failures++;
            }
            if (this.stopped) return;
            const delay = Math.min(15000, retryMs ?? 1000 * 2 ** Math.min(this.failures, 4));
            this.onState?.("retrying", Math.ceil(delay / 1000));
            await new Promise((resolve) => setTimeout(resolve, delay));
        }
    }

    /** One connection: resolves when the server ends the stream (with its retry hint), rejects on failure. */
    async connect() {
        this.controller = new AbortController();
        const sent = currentToken();
        const headers = { Accept: "text/event-stream", ...authHeaders() };
        if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
        const response = await fetch(this.path, { headers, signal: this.controller.signal, cache: "no-store" });
        if (!response.ok) {
            if (response.status === 401) {
                const refused = new ApiError(401, sent ? "token refused" : "token needed");
                refused.sentToken = sent;
                throw refused;
            }
            throw new ApiError(response.status, errorMessage(response.status, await response.text()));
        }
        const type = response.headers.get("Content-Type") ?? "";
        if (!type.startsWith("text/event-stream") || !response.body) {
            throw new ApiError(response.status, "the event stream is not text/event-stream");
        }
        this.onState?.("live");
        if (this.connectedOnce) this.onResync?.();
        this.connectedOnce = true;
        const parser = new EventStreamParser();
        parser.lastEventId = this.lastEventId;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        // The server sends a comment every 15 s: silence for much longer means a dead connection (a proxy or a
        // network that dropped it without closing), so abort it and reconnect.
        let lastChunk = Date.now();
        const controller = this.controller;
        const watchdog = setInterval(() => {
            if (Date.now() - lastChunk > SILENCE_MS) controller.abort();
        }, 5000);
        try {
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                lastChunk = Date.now();
                for (const event of parser.feed(value)) {
                    this.lastEventId = event.id;
                    this.dispatch(event);
                }
            }
        } finally {
            clearInterval(watchdog);
        }
        return parser.retry;
    }

    dispatch(event) {
        let data;
        try {
            data = JSON.parse(event.data);
        } catch {
            return; // not JSON: nothing the dashboard can show
        }
        if (!data || typeof data !== "object") return;
        const kind = classify(event.type, data);
        if (kind) this.onEvent?.({ kind, event: data });
    }
}

/** "status" for a state change, "progress" for a chunk step's progress, null for anything else. */
export function classify(type, data) {
    const name = type.toLowerCase();
    if (name.startsWith("progress")) return "progress";
    if (name === "status" || name === "state" || name === "execution" || name.startsWith("job")) return "status";
    if (typeof data.status === "string") return "status";
    if ("itemsPerSecond" in data || "rate" in data || "read" in data || "count" in data) return "progress";
    return null;
}
