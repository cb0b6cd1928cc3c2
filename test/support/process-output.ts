/** The whole stdout and stderr of a spawned process, and its exit code, once it has exited. */

export interface ProcessOutput {
  readonly code: number
  readonly out: string
  readonly err: string
}

/** What `Bun.spawn` returns with `stdout: "pipe", stderr: "pipe"`, whatever its stdin. */
interface PipedProcess {
  readonly stdout: ReadableStream<Uint8Array>
  readonly stderr: ReadableStream<Uint8Array>
  readonly exited: Promise<number>
}

export const collectOutput = async (proc: PipedProcess): Promise<ProcessOutput> => {
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, out, err }
}
