// Zooming a PDF page drawn at the width of its box: the levels the buttons step through, the size of a
// document's body text, and the zoom at which that text is readable.

/** Zoom levels, as multiples of the box's width (1: the whole width of the page fits). */
export const ZOOM_STEPS = [1, 1.25, 1.5, 2, 2.5, 3, 4] as const;
export const MAX_ZOOM = 4;
/** The body text is readable at this many CSS pixels (large-text mode's smallest text is 18 px; phones' default 16). */
export const READABLE_PX = 16;
/** The zoom for large text when a document's text cannot be measured (scanned pages, no text layer). */
export const READABLE_FALLBACK = 2;

export const zoomIn = (zoom: number): number => ZOOM_STEPS.find((z) => z > zoom + 0.01) ?? MAX_ZOOM;
export const zoomOut = (zoom: number): number => [...ZOOM_STEPS].reverse().find((z) => z < zoom - 0.01) ?? 1;

/**
 * The size (in PDF points) of a document's body text from its text items (pdf.js's `str` and
 * `transform`): the size at which a fifth of the characters are set or smaller, so fine print counts
 * and large headings do not; `undefined` when there is no text.
 */
export function bodyTextSize(items: readonly { str: string; transform: readonly number[] }[]): number | undefined {
  const sizes: { size: number; chars: number }[] = [];
  for (const item of items) {
    const chars = item.str.replace(/\s/g, '').length;
    const size = Math.hypot(item.transform[2] ?? 0, item.transform[3] ?? 0);
    if (chars > 0 && size > 0) sizes.push({ size, chars });
  }
  sizes.sort((a, b) => a.size - b.size);
  const total = sizes.reduce((sum, s) => sum + s.chars, 0);
  let seen = 0;
  for (const s of sizes) {
    seen += s.chars;
    if (seen >= total / 5) return s.size;
  }
  return undefined;
}

/**
 * The zoom (in quarter steps, from fitting the width up to the maximum) at which body text `size`
 * points tall is drawn at least READABLE_PX tall on a page drawn `fit` CSS pixels per point at zoom 1;
 * `null` for a document whose text could not be measured.
 */
export function readableZoom(size: number | null, fit: number): number {
  if (size === null) return READABLE_FALLBACK;
  return Math.min(MAX_ZOOM, Math.max(1, Math.ceil((READABLE_PX / (size * fit)) * 4) / 4));
}
