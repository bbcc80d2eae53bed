// One page of a PDF, drawn by pdf.js in the browser (the legacy build, for older phones). pdf.js is
// loaded only when a contract is shown, and its worker is a file of this build (same origin, so the
// pages' CSP admits it).
import { useEffect, useRef, useState } from 'react';
import type * as PdfJs from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { bodyTextSize } from './pdf-zoom';
import { findTerms, termBoxes, type Box, type FoundTerm, type PlacedRun, type TermPattern } from './key-terms';
import './pdf-page.css';

let library: Promise<typeof PdfJs> | undefined;

function pdfjs() {
  library ??= Promise.all([import('pdfjs-dist/legacy/build/pdf.mjs'), import('pdfjs-dist/legacy/build/pdf.worker.min.mjs?url')]).then(([lib, worker]) => {
    lib.GlobalWorkerOptions.workerSrc = worker.default;
    return lib;
  });
  return library;
}

/** Loads a PDF from its bytes; the caller closes it when done. */
export async function openPdf(bytes: ArrayBuffer): Promise<{ pdf: PDFDocumentProxy; close(): Promise<void> }> {
  const lib = await pdfjs();
  const task = lib.getDocument({ data: new Uint8Array(bytes), enableXfa: false });
  return { pdf: await task.promise, close: () => task.destroy() };
}

/** Fetches a PDF (with the given headers) and opens it; `undefined` while loading. */
export function usePdf(url: string | undefined, headers: Record<string, string> = {}): { pdf: PDFDocumentProxy | undefined; error: unknown } {
  const [pdf, setPdf] = useState<PDFDocumentProxy>();
  const [error, setError] = useState<unknown>();
  const headerKey = JSON.stringify(headers);
  useEffect(() => {
    if (!url) return;
    let cancelled = false;
    let opened: { pdf: PDFDocumentProxy; close(): Promise<void> } | undefined;
    void (async () => {
      try {
        const res = await fetch(url, { headers: JSON.parse(headerKey) as Record<string, string>, credentials: 'same-origin' });
        if (!res.ok) throw new Error(`contract: HTTP ${res.status}`);
        opened = await openPdf(await res.arrayBuffer());
        if (cancelled) void opened.close();
        else setPdf(opened.pdf);
      } catch (caught) {
        if (!cancelled) setError(caught);
      }
    })();
    return () => {
      cancelled = true;
      setPdf(undefined);
      void opened?.close();
    };
  }, [url, headerKey]);
  return { pdf, error };
}

/** Where the page's text states the terms, as boxes in CSS pixels of a page drawn `scale` times its natural size. */
async function highlightsOf(p: PDFPageProxy, scale: number, terms: readonly TermPattern[]): Promise<{ found: FoundTerm[]; boxes: Box[] }> {
  const content = await p.getTextContent();
  const runs: (PlacedRun & { fontFamily: string })[] = [];
  for (const item of content.items) {
    if (!('str' in item)) continue;
    const style = content.styles[item.fontName];
    runs.push({ str: item.str, hasEOL: item.hasEOL, transform: item.transform as number[], width: item.width, ascent: style?.ascent, fontFamily: style?.fontFamily ?? 'sans-serif' });
  }
  const found = findTerms(runs, terms);
  // Widths within a run in the font the browser substitutes, as pdf.js's own text layer measures them.
  const context = document.createElement('canvas').getContext('2d');
  const measure = (text: string, run: number) => {
    if (!context) return text.length;
    context.font = `100px ${runs[run]?.fontFamily ?? 'sans-serif'}`;
    return context.measureText(text).width;
  };
  const viewport = p.getViewport({ scale });
  return { found, boxes: termBoxes(found, runs, { transform: viewport.transform, scale: viewport.scale }, measure) };
}

/** The size (in PDF points) of the document's body text, read from its first pages' text. */
export async function documentBodySize(pdf: PDFDocumentProxy): Promise<number | undefined> {
  const items: { str: string; transform: number[] }[] = [];
  for (let n = 1; n <= Math.min(pdf.numPages, 3); n++) {
    const content = await (await pdf.getPage(n)).getTextContent();
    for (const item of content.items) if ('str' in item) items.push({ str: item.str, transform: item.transform as number[] });
  }
  return bodyTextSize(items);
}

/** Browsers refuse canvases much larger than this (iOS Safari: 16.7 million pixels). */
const MAX_CANVAS_PIXELS = 16_000_000;

/**
 * Draws page `page` (1-based) `zoom` times the width of its container, sharp on high-density screens
 * (drawn again at each size, never stretched). With `scroll`, the page pans inside its own box when
 * zoomed (a focusable region so keyboards can pan it too); `onFit` gets the scale that fits the width.
 * With `terms`: a highlight over each place the page states one, and `onTerms` with what was found.
 */
export function PdfPage({
  pdf,
  page,
  label,
  onRendered,
  terms,
  onTerms,
  zoom = 1,
  scroll,
  onFit,
}: {
  pdf: PDFDocumentProxy;
  page: number;
  label: string;
  onRendered?(page: number): void;
  terms?: readonly TermPattern[] | undefined;
  onTerms?(page: number, found: FoundTerm[]): void;
  zoom?: number;
  scroll?: { label: string } | undefined;
  onFit?(scale: number): void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const rendered = useRef(onRendered);
  rendered.current = onRendered;
  const termsFound = useRef(onTerms);
  termsFound.current = onTerms;
  const fitFound = useRef(onFit);
  fitFound.current = onFit;
  const [width, setWidth] = useState(0);
  const [shown, setShown] = useState<{ page: number; scale: number }>();
  const [marks, setMarks] = useState<{ page: number; scale: number; boxes: Box[] }>();
  const last = useRef<{ page: number; width: number; height: number }>(undefined);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(Math.floor(element.clientWidth)));
    observer.observe(element);
    setWidth(Math.floor(element.clientWidth));
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const target = canvas.current;
    const frame = box.current;
    if (!target || !frame || width === 0) return;
    let cancelled = false;
    let task: { cancel(): void; promise: Promise<void> } | undefined;
    void (async () => {
      const p = await pdf.getPage(page);
      if (cancelled) return;
      const natural = p.getViewport({ scale: 1 });
      const fit = width / natural.width;
      fitFound.current?.(fit);
      const scale = fit * zoom;
      const css = p.getViewport({ scale });
      const ratio = Math.min(window.devicePixelRatio || 1, Math.sqrt(MAX_CANVAS_PIXELS / (css.width * css.height)));
      const viewport = p.getViewport({ scale: scale * ratio });
      const cssWidth = Math.floor(viewport.width / ratio);
      const cssHeight = Math.floor(viewport.height / ratio);
      // When the zoom changes, what was in the middle of the view stays there (at an edge, the view keeps
      // to that edge: zooming from the whole width stays at the start of the lines); a new page starts at its top left.
      const before = last.current;
      const anchor = (scrolled: number, view: number, size: number) => (scrolled <= 0 ? 0 : (scrolled + view / 2) / size);
      const centre = before && before.page === page ? { x: anchor(frame.scrollLeft, frame.clientWidth, before.width), y: anchor(frame.scrollTop, frame.clientHeight, before.height) } : undefined;
      target.width = Math.floor(viewport.width);
      target.height = Math.floor(viewport.height);
      target.style.width = `${cssWidth}px`;
      target.style.height = `${cssHeight}px`;
      last.current = { page, width: cssWidth, height: cssHeight };
      if (centre) frame.scrollTo({ left: centre.x && centre.x * cssWidth - frame.clientWidth / 2, top: centre.y && centre.y * cssHeight - frame.clientHeight / 2 });
      else if (before) frame.scrollTo({ top: 0, left: 0 });
      task = p.render({ canvas: target, viewport });
      try {
        await task.promise;
        if (cancelled) return;
        setShown({ page, scale });
        rendered.current?.(page);
      } catch {
        // cancelled by a newer page or size
        return;
      }
      if (!terms || terms.length === 0) return setMarks(undefined);
      const { found, boxes } = await highlightsOf(p, scale, terms);
      if (cancelled) return;
      setMarks({ page, scale, boxes });
      termsFound.current?.(page, found);
    })();
    return () => {
      cancelled = true;
      task?.cancel();
    };
  }, [pdf, page, width, zoom, terms]);

  const current = marks && shown && marks.page === shown.page && marks.scale === shown.scale;
  const boxes = current ? marks.boxes : [];
  return (
    <div
      ref={box}
      className={scroll ? 'pdf-page zoomable' : 'pdf-page'}
      {...(scroll ? { role: 'region', 'aria-label': scroll.label, tabIndex: 0 } : {})}
      data-testid="pdf-page"
    >
      <div className="pdf-sheet">
        <canvas ref={canvas} role="img" aria-label={label} data-testid="pdf-canvas" data-rendered-page={shown?.page ?? ''} />
        {marks ? (
          // Drawn over the page for the eye; the terms are listed as text beside it for screen readers.
          <div className="pdf-highlights" aria-hidden="true" data-testid="pdf-highlights" data-page={current ? shown.page : ''}>
            {boxes.map((b, i) => (
              <span key={i} className="term-mark" data-term={b.term} style={{ left: b.left - 2, top: b.top - 2, width: b.width + 4, height: b.height + 4 }} />
            ))}
          </div>
        ) : null}
      </div>
    </div>
  );
}
