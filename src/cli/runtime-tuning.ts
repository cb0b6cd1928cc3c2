/**
 * Two settings of Bun's runtime that a long-running node wants and that Bun reads only from the
 * environment at process start. `lattice start` and `lattice dev` therefore re-execute
 * themselves once, in place (execve: same PID, stdio, arguments and environment otherwise), with
 * each of them set unless the operator set it; load generators (`lattice benchmark`, the bench
 * harnesses) set only the first (CLIENT_TUNING):
 *
 * - `MIMALLOC_PURGE_DELAY=-1`: Bun's allocator (mimalloc) otherwise hands freed memory back to
 *   the OS 10 ms after it is freed. A node under steady load frees and re-allocates the same
 *   memory all the time, so each purge is followed by page faults that map and zero the pages
 *   again. With purging off, puts went 20-27 % faster with only the nodes tuned, 40-50 % with
 *   the bench's client tuned too (docs/benchmarks.md, "Fourth pass"). Memory then stays with the
 *   process up to its peak, as with most servers; MIMALLOC_PURGE_DELAY=10 restores the default.
 * - `BUN_JSC_useFTLJIT=0`: JavaScriptCore's top optimizing tier (FTL) kept recompiling the
 *   request path under load (the JIT threads took 7-15 % of a core per process, on a machine
 *   where the nodes share two cores). Without it code still reaches the DFG tier; puts went
 *   about 18 % faster and the leader's CPU per put fell by a fifth, serializable reads 20-30 %
 *   slower (docs/benchmarks.md, "Fifth pass"). BUN_JSC_useFTLJIT=1 restores the default.
 *
 * Only on Linux under Bun; if anything fails the process simply goes on untuned.
 */

/** The variables set on re-execution, with their values, unless already in the environment. */
export const RUNTIME_TUNING: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_DELAY: "-1",
  BUN_JSC_useFTLJIT: "0",
}

/** The command line that runs this same program again (compiled binary or `bun script.ts`). */
export const reexecArgv = (
  execPath: string,
  argv: readonly string[],
  execArgv: readonly string[],
): string[] => {
  const script = argv[1] ?? ""
  // A compiled binary's entry lives in Bun's embedded file system: the binary is the program.
  const compiled = script.startsWith("/$bunfs/") || script.startsWith("B:/~BUN/")
  return compiled ? [execPath, ...argv.slice(2)] : [execPath, ...execArgv, script, ...argv.slice(2)]
}

/**
 * What a load generator (the bench harnesses, `lattice benchmark`) sets: the allocator only. A
 * tight client loop is 12-15 % faster with the FTL tier (docs/benchmarks.md, "Fifth pass"), and
 * the client is shared with etcd, which it drives close to the client's own limit.
 */
export const CLIENT_TUNING: readonly string[] = ["MIMALLOC_PURGE_DELAY"]

/** The variables of RUNTIME_TUNING (those named in `only`, if given) that `env` does not set yet. */
export const missingTuning = (
  env: Readonly<Record<string, string | undefined>>,
  only?: readonly string[],
): Record<string, string> =>
  Object.fromEntries(
    Object.entries(RUNTIME_TUNING).filter(
      ([name]) => env[name] === undefined && (only === undefined || only.includes(name)),
    ),
  )

/**
 * Re-executes the process tuned (every setting, or those named in `only`); returns only if it
 * did not (nothing to set, or not possible).
 */
export const tuneRuntimeOrContinue = async (only?: readonly string[]): Promise<void> => {
  const missing = missingTuning(process.env, only)
  if (Object.keys(missing).length === 0) return
  if (process.platform !== "linux" || typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return
  try {
    const { dlopen, FFIType, ptr } = await import("bun:ffi")
    const libc = dlopen("libc.so.6", {
      execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    })
    const cString = (s: string) => Buffer.from(`${s}\0`, "utf8")
    const keep: Buffer[] = []
    const pointerArray = (items: readonly string[]) => {
      const array = new BigUint64Array(items.length + 1)
      items.forEach((item, i) => {
        const b = cString(item)
        keep.push(b)
        array[i] = BigInt(ptr(b))
      })
      return array
    }
    const env = { ...process.env, ...missing }
    const argv = pointerArray(reexecArgv(process.execPath, process.argv, process.execArgv))
    const envp = pointerArray(Object.entries(env).map(([k, v]) => `${k}=${v ?? ""}`))
    const path = cString(process.execPath)
    // Returns only on failure (then this process carries on as it is).
    libc.symbols.execve(ptr(path), ptr(argv), ptr(envp))
    libc.close()
  } catch {
    // No libc.so.6 (musl), no FFI: run untuned.
  }
}
