/** CRC-32 (IEEE), incremental: `crc32(b, crc32(a))` equals `crc32(a ++ b)`. The storage layer's implementation. */
import { crc32Final, crc32Update } from "../storage/crc32.ts"

export const crc32 = (data: Uint8Array, previous = 0): number =>
  crc32Final(crc32Update((previous ^ 0xffffffff) >>> 0, data))
