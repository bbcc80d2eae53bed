// One page of a PDF, drawn by pdf.js in the browser (the legacy build, for older phones). pdf.js is
// loaded only when a contract is shown, and its worker is a file of this build (same origin, so the
// pages' CSP admits it).
import { useEffect, useRef, useState } from 'react';
import type * as PdfJs from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

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

/** Draws page `page` (1-based) at the width of its container, sharp on high-density screens. */
export function PdfPage({ pdf, page, label, onRendered }: { pdf: PDFDocumentProxy; page: number; label: string; onRendered?(page: number): void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const box = useRef<HTMLDivElement>(null);
  const rendered = useRef(onRendered);
  rendered.current = onRendered;
  const [width, setWidth] = useState(0);
  const [shown, setShown] = useState<number>();

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
    if (!target || width === 0) return;
    let cancelled = false;
    let task: { cancel(): void; promise: Promise<void> } | undefined;
    void (async () => {
      const p = await pdf.getPage(page);
      if (cancelled) return;
      const natural = p.getViewport({ scale: 1 });
      const scale = width / natural.width;
      const ratio = window.devicePixelRatio || 1;
      const viewport = p.getViewport({ scale: scale * ratio });
      target.width = Math.floor(viewport.width);
      target.height = Math.floor(viewport.height);
      target.style.width = `${Math.floor(viewport.width / ratio)}px`;
      target.style.height = `${Math.floor(viewport.height / ratio)}px`;
      task = p.render({ canvas: target, viewport });
      try {
        await task.promise;
        if (cancelled) return;
        setShown(page);
        rendered.current?.(page);
      } catch {
        // cancelled by a newer page or size
      }
    })();
    return () => {
      cancelled = true;
      task?.cancel();
    };
  }, [pdf, page, width]);

  return (
    <div ref={box} className="pdf-page">
      <canvas ref={canvas} role="img" aria-label={label} data-testid="pdf-canvas" data-rendered-page={shown ?? ''} />
    </div>
  );
}
