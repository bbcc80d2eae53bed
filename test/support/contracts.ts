// Contract PDFs for tests: real, multi-page documents rendered with pdfkit (the library the evidence
// PDF uses), with the CJK font embedded so a browser renders every glyph, and a way to upload them
// the way an LOS does (raw bytes, application/pdf).
import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { ApiClient, ApiResponse } from './api-client.js';

const FONT = '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc';

/** A PDF with one page per entry: a large page heading ("第 N 页 · Page N") and the entry's text. */
export async function contractPdf(pages: string[], title = '个人消费贷款合同 · Personal loan contract'): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', margin: 56, autoFirstPage: false, info: { Title: title } });
  doc.registerFont('text', readFileSync(FONT), 'WenQuanYiMicroHei');
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve) => doc.on('end', () => resolve()));
  pages.forEach((text, index) => {
    doc.addPage();
    doc.font('text').fontSize(14).fillColor('#1a3c6e').text(title);
    doc.moveDown(0.5).fontSize(28).fillColor('black').text(`第 ${index + 1} 页 · Page ${index + 1}`);
    doc.moveDown(1).fontSize(13).text(text, { lineGap: 4 });
  });
  doc.end();
  await done;
  return Buffer.concat(chunks);
}

/** PUT /api/loan-files/:id/contract with raw bytes, as the client's credentials (API key or cookie + CSRF). */
export async function uploadContract(client: ApiClient, loanFileId: string, bytes: Buffer, contentType = 'application/pdf', options: { csrf?: boolean } = {}): Promise<ApiResponse<Record<string, unknown>>> {
  const headers: Record<string, string> = { 'content-type': contentType };
  const cookie = client.cookieHeader();
  if (cookie) headers.cookie = cookie;
  if (client.bearer) headers.authorization = `Bearer ${client.bearer}`;
  if (options.csrf !== false && client.csrfToken) headers['x-csrf-token'] = client.csrfToken;
  const res = await fetch(`${client.baseUrl}/api/loan-files/${loanFileId}/contract`, { method: 'PUT', headers, body: new Uint8Array(bytes) });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, contentType: type, body: type.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}
