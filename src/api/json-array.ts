/**
 * Splits a JSON array into the exact bytes of its elements, or answers undefined when the body is
 * not a JSON array. lmstfy's bulk publish stores each element's text as written: re-serialising
 * parsed values would change big numbers and whitespace, which are part of the job body.
 */
export function splitJsonArray(body: Buffer): Buffer[] | undefined {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  // The text is valid JSON from here on, so tracking strings and nesting depth is enough.
  const elements: Buffer[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) start = i + 1;
      continue;
    }
    if ((c === ',' || c === ']' || c === '}') && depth === 1) {
      const element = text.slice(start, i).trim();
      if (element !== '') elements.push(Buffer.from(element, 'utf8'));
      start = i + 1;
    }
    if (c === ']' || c === '}') depth--;
  }
  return elements;
}
