/**
 * How the manager's image starts node: one list for the Dockerfile's ENTRYPOINT, the Deployment's
 * command, the benches and the e2e tests, so that what is measured is what runs in the pod.
 *
 * The flags trade a little CPU for memory, which matters here because the caches hold every claim
 * and IPAddress of the cluster (bench/memory.ts measures both ways):
 * - `--max-semi-space-size=1` (MiB): V8's young generation would otherwise grow to 3 × 16 MiB
 *   and stay there; the controller's allocations are short-lived and small.
 * - `--optimize-for-size`: V8 grows the old generation in smaller steps and gives memory back
 *   sooner, so the heap after the initial list stays near what is live.
 * `node dist/main.js` without them works the same, with more memory.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];

/** The container's command: the image's ENTRYPOINT and the Deployment's `command`. */
export const MANAGER_COMMAND: readonly string[] = ['node', ...NODE_FLAGS, '/app/dist/main.js'];
