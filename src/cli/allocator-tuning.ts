/**
 * Bun's allocator (mimalloc) hands freed memory back to the OS 10 ms after it is freed (a
 * "purge"). A node under steady load frees and re-allocates the same memory all the time, so
 * each purge is followed by page faults that map and zero the pages again. On a 3-node cluster
 * with purging off, puts went 20-27 % faster with only the nodes tuned, 40-50 % with the bench's
 * client tuned too (docs/benchmarks.md, "Fourth pass"). mimalloc reads the option
 * from the environment only at process start, so the long-running commands re-execute
 * themselves once, in place (execve: same PID, stdio, arguments and environment otherwise),
 * with MIMALLOC_PURGE_DELAY=-1 unless the operator set it. Memory then stays with the process
 * up to its peak, as with most servers; MIMALLOC_PURGE_DELAY=10 restores mimalloc's default.
 *
 * Only on Linux under Bun; if anything fails the process simply goes on untuned.
 */

export const PURGE_ENV = "MIMALLOC_PURGE_DELAY"

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

/** Re-executes the process with purging off; returns only if it did not (already set, or not possible). */
export const tuneAllocatorOrContinue = async (): Promise<void> => {
  if (process.env[PURGE_ENV] !== undefined) return
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
    const env = { ...process.env, [PURGE_ENV]: "-1" }
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
