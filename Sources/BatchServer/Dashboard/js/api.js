// The JSON API client: every request carries the token (when one was given), a 401 asks for it once and retries,
// and errors carry the server's own message.

const TOKEN_KEY = "swift-batch.token";

/** An answer other than 2xx: its status and the server's message. */
export class ApiError extends Error {
    constructor(status, message) {
        super(message);
        this.status = status;
    }
}

/** The token for `Authorization: Bearer`, kept for this browser tab only (sessionStorage). */
export const auth = {
    get token() {
        try {
            return sessionStorage.getItem(TOKEN_KEY);
        } catch {
            return null;
        }
    },
    set token(value) {
        try {
            if (value) sessionStorage.setItem(TOKEN_KEY, value);
            else sessionStorage.removeItem(TOKEN_KEY);
        } catch {
            // Storage refused (private mode): the token lives as long as the page.
        }
        memoryToken = value || null;
        if (value) {
            for (const resolve of tokenWaiters.splice(0)) resolve(value);
        }
    },
    /** Set by the page: shows the token dialog, resolves with the token entered (rejects when dismissed). */
    ask: null,
};
let memoryToken = null;
let pendingAsk = null;
const tokenWaiters = [];

/** Resolves the next time a token is set (after the operator dismissed the dialog, say). */
export function nextToken() {
    return new Promise((resolve) => tokenWaiters.push(resolve));
}

/** The token requests send now, or null. */
export function currentToken() {
    return auth.token ?? memoryToken;
}

/** The headers every request sends. */
export function authHeaders() {
    const token = currentToken();
    return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * Asks for the token once, however many requests met a 401 at the same time. `rejected` says the token just
 * sent was refused (the dialog says so).
 */
export function askForToken(rejected) {
    if (!pendingAsk) {
        if (!auth.ask) return Promise.reject(new ApiError(401, "this server needs an API token"));
        pendingAsk = auth.ask(rejected).then(
            (token) => {
                auth.token = token;
                pendingAsk = null;
                return token;
            },
            (error) => {
                pendingAsk = null;
                throw error;
            }
        );
    }
    return pendingAsk;
}

/** The server's message in an error body: {"error": "..."}, {"error": {"message": "..."}}, {"message": ...} or text. */
export function errorMessage(status, text) {
    let message = "";
    try {
        const body = JSON.parse(text);
        if (typeof body === "string") message = body;
        else if (typeof body?.error === "string") message = body.error;
        else if (typeof body?.error?.message === "string") message = body.error.message;
        else if (typeof body?.message === "string") message = body.message;
        else if (typeof body?.reason === "string") message = body.reason;
        else if (typeof body?.detail === "string") message = body.detail;
    } catch {
        message = text.trim();
    }
    return message || `the server answered ${status}`;
}

/**
 * Calls the API: `api("/api/executions?limit=50")`, `api(path, {method: "POST", body: {...}})`. Resolves with the
 * decoded JSON (or null for an empty body); rejects with an ApiError.
 */
export async function api(path, { method = "GET", body, signal } = {}) {
    for (let attempt = 0; ; attempt++) {
        const sent = currentToken();
        const headers = { Accept: "application/json", ...authHeaders() };
        if (body !== undefined) headers["Content-Type"] = "application/json";
        let response;
        try {
            response = await fetch(path, {
                method,
                headers,
                body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
                signal,
                cache: "no-store",
            });
        } catch (error) {
            if (error?.name === "AbortError") throw error;
            throw new ApiError(0, "the server cannot be reached");
        }
        if (response.status === 401 && attempt < 5) {
            // A token given meanwhile (another request asked for it): just try again with it.
            if (currentToken() !== sent) continue;
            if (sent) auth.token = null;
            await askForToken(Boolean(sent));
            continue;
        }
        const text = await response.text();
        if (!response.ok) throw new ApiError(response.status, errorMessage(response.status, text));
        if (!text) return null;
        try {
            return JSON.parse(text);
        } catch {
            throw new ApiError(response.status, "the server's answer is not JSON");
        }
    }
}

/** A query string from an object, leaving out empty values: query({job: "a", status: ""}) → "?job=a". */
export function query(parameters) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(parameters)) {
        if (value !== null && value !== undefined && value !== "") search.set(name, String(value));
    }
    const text = search.toString();
    return text ? `?${text}` : "";
}
