// Small schema pieces shared by routes.
import { z } from 'zod';

export const timestamp = z.iso.datetime({ offset: true });
export const idParam = z.object({ id: z.uuid({ message: 'must be a UUID' }) });
export const iso = (d: Date): string => d.toISOString();
export const isoOrNull = (d: Date | null): string | null => (d ? d.toISOString() : null);
/** Documents a binary body (media, images) in the OpenAPI document. */
export const binaryBody = z.string().meta({ format: 'binary', description: 'binary data' });
