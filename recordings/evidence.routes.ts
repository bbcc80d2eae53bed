// The evidence package export: the signed JSON manifest (evidence.service.ts) or its signed PDF (evidence-pdf.service.ts).
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../server/http/route.js';
import { binaryBody, idParam } from '../server/shared/schemas.js';
import { requireUser } from '../server/auth/principal.js';
import type { EvidenceService } from './evidence.service.js';
import type { EvidencePdfService } from './evidence-pdf.service.js';
import { streamToClient } from './playback.routes.js';

const manifestSchema = z.record(z.string(), z.unknown()).meta({ id: 'EvidenceManifest' });

export function evidenceRoutes(evidence: EvidenceService, evidencePdf: EvidencePdfService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/evidence',
      summary:
        'The evidence package: the JSON manifest signed with the platform key (a detached JWS, with the audit log\'s signed tree head and inclusion proofs), or a readable PAdES-signed PDF of it with `?format=pdf` or `Accept: application/pdf`; check either offline with `npm run evidence:verify -- <file> --trust <certificate>`; every export is audited',
      tags: ['reviews'],
      access: { roles: ['AUDITOR', 'SUPERVISOR', 'ADMIN'] },
      params: idParam,
      query: z.object({ format: z.enum(['json', 'pdf']).optional().meta({ description: 'Overrides the Accept header' }) }),
      responses: {
        200: {
          description: 'The signed manifest (JSON), or its signed PDF rendering; a PDF carries the manifest\'s SHA-256 on every page and in X-Evidence-Manifest-Sha256',
          schema: manifestSchema,
          contentTypes: { 'application/json': manifestSchema, 'application/pdf': binaryBody },
        },
        503: { description: 'EVIDENCE_PDF_UNAVAILABLE: the PDF\'s CJK font is missing on this server (the JSON is still served)' },
      },
      async handler({ params, query, ctx, req }) {
        const userId = requireUser(ctx.principal).userId;
        const format = query.format ?? (req.accepts(['application/json', 'application/pdf']) === 'application/pdf' ? 'pdf' : 'json');
        if (format === 'pdf') {
          const { manifestSha256, pdf } = await evidencePdf.export(params.id, userId, ctx.requestId);
          return {
            status: 200,
            respond: async (res) => {
              res
                .status(200)
                .type('application/pdf')
                .setHeader('Content-Disposition', `attachment; filename="evidence-${params.id}.pdf"`)
                .setHeader('Cache-Control', 'no-store')
                .setHeader('Vary', 'Accept')
                .setHeader('X-Evidence-Manifest-Sha256', manifestSha256);
              await streamToClient(pdf, res, ctx.log);
            },
          };
        }
        const manifest = await evidence.build(params.id, userId, ctx.requestId, 'json');
        return { status: 200, body: manifest, headers: { 'Content-Disposition': `attachment; filename="evidence-${params.id}.json"`, 'Cache-Control': 'no-store', Vary: 'Accept' } };
      },
    }),
  ];
}
