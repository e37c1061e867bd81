// DOM and formatting helpers. Every string from the server reaches the page as a text node or an attribute
// value set through the DOM (never innerHTML), so nothing in the data can become markup.

/**
 * Creates an element: h("a", {href: "#/x", class: "link"}, "text", child, [more, children]).
 * Strings and numbers become text nodes; null, undefined and false are skipped. Attributes starting with "on"
 * are event listeners; `dataset` and `style` take objects; a boolean attribute is set when true.
 */
export function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes ?? {})) {
        if (value === null || value === undefined || value === false) continue;
        if (name.startsWith("on") && typeof value === "function") {
            element.addEventListener(name.slice(2).toLowerCase(), value);
        } else if (name === "dataset") {
            Object.assign(element.dataset, value);
        } else if (name === "style") {
            Object.assign(element.style, value);
        } else if (name === "class") {
            element.className = value;
        } else if (value === true) {
            element.setAttribute(name, "");
        } else {
            element.setAttribute(name, String(value));
        }
    }
    append(element, children);
    return element;
}

/** Appends children (strings, numbers, nodes, nested arrays) to a node. */
export function append(node, children) {
    for (const child of children.flat(Infinity)) {
        if (child === null || child === undefined || child === false) continue;
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
}

/** Replaces a node's children. */
export function replace(node, ...children) {
    node.replaceChildren();
    return append(node, children);
}

/**
 * Makes `tbody` show one row per item, in the items' order, keeping the rows of items seen before (so the DOM does not
 * jump): `rows` maps `key(item)` to `{ tr, ... }`, `makeRow(item)` builds a new one, `fill(row, item)` updates one.
 */
export function reconcileRows(tbody, rows, items, key, makeRow, fill) {
    const seen = new Set();
    items.forEach((item, index) => {
        const id = key(item);
        seen.add(id);
        let row = rows.get(id);
        if (!row) {
            row = makeRow(item);
            rows.set(id, row);
        }
        fill(row, item);
        if (tbody.children[index] !== row.tr) tbody.insertBefore(row.tr, tbody.children[index] ?? null);
    });
    for (const [id, row] of rows) {
        if (!seen.has(id)) {
            row.tr.remove();
            rows.delete(id);
        }
    }
}

/** Sets a node's text only when it changed (no needless reflow while events stream in). */
export function setText(node, text) {
    const value = text === null || text === undefined ? "" : String(text);
    if (node.textContent !== value) node.textContent = value;
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** 1234567 → "1,234,567" (in the reader's locale); "–" for a missing value. */
export function formatCount(value) {
    return typeof value === "number" && Number.isFinite(value) ? integer.format(value) : "–";
}

/** A rate: "1,234/s", one decimal under 10. */
export function formatRate(value) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "–";
    return (value < 10 ? decimal.format(value) : integer.format(value)) + "/s";
}

/** Parses an ISO 8601 time (or epoch seconds) into a Date, or null. */
export function parseTime(value) {
    if (value === null || value === undefined || value === "") return null;
    const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
}

const pad = (n) => String(n).padStart(2, "0");

/** A time as "2026-11-25 14:03:07" in the reader's zone, "–" when missing. */
export function formatTime(value) {
    const date = value instanceof Date ? value : parseTime(value);
    if (!date) return "–";
    return (
        `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
        `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
    );
}

/** A time in an IANA zone, "2026-11-26 02:00:00 Europe/Berlin", or "" when the zone is unknown to the browser. */
export function formatTimeIn(value, timeZone) {
    const date = value instanceof Date ? value : parseTime(value);
    if (!date || !timeZone) return "";
    try {
        const parts = new Intl.DateTimeFormat("en-CA", {
            timeZone,
            year: "numeric",
            month: "2-digit",
            day: "2-digit",
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
            hourCycle: "h23",
        }).formatToParts(date);
        const part = (type) => parts.find((p) => p.type === type)?.value ?? "";
        const day = `${part("year")}-${part("month")}-${part("day")}`;
        return `${day} ${part("hour")}:${part("minute")}:${part("second")} ${timeZone}`;
    } catch {
        return "";
    }
}

/** The time of day only when the date is today, else the full time: compact in lists. */
export function formatShortTime(value) {
    const date = value instanceof Date ? value : parseTime(value);
    if (!date) return "–";
    const now = new Date();
    if (date.toDateString() === now.toDateString()) {
        return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
    }
    return formatTime(date);
}

/** Seconds as "4.2 s", "3 m 07 s", "2 h 05 m", "3 d 4 h". */
export function formatSeconds(seconds) {
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "–";
    const s = Math.max(0, seconds);
    if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} m ${pad(Math.floor(s % 60))} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} m`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** The duration from start to end (or to now when still running), "–" without a start. */
export function formatDuration(start, end) {
    const from = parseTime(start);
    if (!from) return "–";
    const to = parseTime(end) ?? new Date();
    return formatSeconds((to.getTime() - from.getTime()) / 1000);
}

/** "in 3 m 07 s" / "4.2 s ago" relative to now. */
export function formatRelative(value) {
    const date = value instanceof Date ? value : parseTime(value);
    if (!date) return "–";
    const seconds = (date.getTime() - Date.now()) / 1000;
    return seconds >= 0 ? `in ${formatSeconds(seconds)}` : `${formatSeconds(-seconds)} ago`;
}

/** JSON for people: compact on one line, or indented. */
export function formatJSON(value, indent = false) {
    try {
        return JSON.stringify(value ?? {}, null, indent ? 2 : undefined);
    } catch {
        return String(value);
    }
}
