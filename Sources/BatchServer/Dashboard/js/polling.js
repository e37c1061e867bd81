// A view's periodic load: now, then every interval until the view goes away.

/**
 * Runs `load` now and `intervalMs` after each run ends, until `stop()`. A failed load shows its error in `message`
 * (through `ctx.showError`), and the next one still comes.
 *
 * @param {number} intervalMs the pause between the end of one load and the start of the next
 * @param {HTMLElement} message where a failed load's error shows
 * @param {{showError: (node: HTMLElement, error: unknown) => void}} ctx the view's context
 * @param {(isStopped: () => boolean) => Promise<void>} load loads and renders; after each await it asks
 *     `isStopped()` and leaves the page alone once the view is gone
 * @returns {{refresh: () => Promise<void>, readonly stopped: boolean, stop: () => void}} `refresh` loads at once
 *     (and restarts the interval)
 */
export function poll(intervalMs, message, ctx, load) {
    let timer = null;
    let stopped = false;
    const isStopped = () => stopped;

    async function refresh() {
        clearTimeout(timer);
        try {
            await load(isStopped);
        } catch (error) {
            if (!stopped) ctx.showError(message, error);
        } finally {
            if (!stopped) timer = setTimeout(refresh, intervalMs);
        }
    }

    refresh();
    return {
        refresh,
        get stopped() {
            return stopped;
        },
        stop() {
            stopped = true;
            clearTimeout(timer);
        },
    };
}
