/** "Did you mean" suggestions: the closest known name by edit distance, if it is close enough. */

export const editDistance = (a: string, b: string): number => {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = prev[0]!
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j]!
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      prev[j] = Math.min(above + 1, prev[j - 1]! + 1, diagonal + cost)
      diagonal = above
    }
  }
  return prev[b.length]!
}

/** The known name closest to `input`, or undefined when nothing is plausibly meant. */
export const closest = (input: string, known: ReadonlyArray<string>): string | undefined => {
  const needle = input.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    const hay = candidate.toLowerCase()
    // A prefix ("sync" for "sync_on_write") is a strong hint even when the distance is large.
    const d = hay.startsWith(needle) && needle.length >= 3 ? 1 : editDistance(needle, hay)
    if (d < bestDistance) {
      bestDistance = d
      best = candidate
    }
  }
  const budget = Math.max(2, Math.floor(needle.length / 3))
  return bestDistance <= budget ? best : undefined
}

export const didYouMean = (input: string, known: ReadonlyArray<string>): string => {
  const match = closest(input, known)
  return match === undefined ? "" : `; did you mean "${match}"?`
}
