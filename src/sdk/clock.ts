/**
 * Time as the SDK sees it. The SDK runs inside applications, outside any Effect runtime, so it
 * takes its clock as a parameter: production uses the system clock, tests pass a manual one to
 * drive lease renewals and leader-election deadlines without waiting.
 */
export interface SdkClock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const systemClock: SdkClock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve()
      const timer = setTimeout(done, Math.max(0, ms))
      function done() {
        clearTimeout(timer)
        signal?.removeEventListener("abort", done)
        resolve()
      }
      signal?.addEventListener("abort", done, { once: true })
    }),
}
