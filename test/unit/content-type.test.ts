import { describe, expect, it } from 'vitest';
import { displaysInline, normalizeContentType } from '#protocol/content-type';

describe('content types', () => {
  it('normalises a browser’s or a caller’s type to the stored form, or none', () => {
    expect(normalizeContentType('Image/PNG')).toBe('image/png');
    expect(normalizeContentType('text/plain; charset=UTF-8')).toBe('text/plain');
    expect(normalizeContentType('application/vnd.openxmlformats-officedocument.wordprocessingml.document')).toBe(
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
    // A File with no known type has `type === ''`.
    for (const none of ['', undefined, 'image', 'image/', '/png', 'text/plain\r\nx: 1', 'ima ge/png']) {
      expect(normalizeContentType(none)).toBeUndefined();
    }
  });

  it('displays inline only media a browser renders without running anything', () => {
    for (const media of ['image/png', 'image/jpeg', 'image/webp', 'audio/mpeg', 'video/mp4', 'application/pdf', 'text/plain']) {
      expect(displaysInline(media)).toBe(true);
    }
    for (const active of [
      'image/svg+xml',
      'text/html',
      'application/xhtml+xml',
      'text/javascript',
      'application/octet-stream',
      undefined,
    ]) {
      expect(displaysInline(active)).toBe(false);
    }
  });
});
