/**
 * Event-type filters as in AMQP topic exchanges: types and patterns are dot-separated words;
 * `*` matches exactly one word, `#` matches zero or more words (`billing.#`, `device.*`, `#`).
 */
export function matchesTopic(pattern: string, type: string): boolean {
  return matchWords(pattern.split('.'), 0, type.split('.'), 0);
}

function matchWords(pattern: string[], p: number, words: string[], w: number): boolean {
  for (; p < pattern.length; p++, w++) {
    const part = pattern[p];
    if (part === '#') {
      // Consecutive '#' are one; then try every split point for the rest of the pattern.
      while (pattern[p + 1] === '#') p++;
      if (p === pattern.length - 1) return true;
      for (let skip = w; skip <= words.length; skip++) if (matchWords(pattern, p + 1, words, skip)) return true;
      return false;
    }
    if (w >= words.length || (part !== '*' && part !== words[w])) return false;
  }
  return w === words.length;
}

/** Whether a type filter is a pattern (has a `*` or `#` word) rather than one type. */
export const isTopicPattern = (filter: string): boolean => filter.split('.').some((word) => word === '*' || word === '#');
