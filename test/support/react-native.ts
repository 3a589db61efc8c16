/**
 * React Native's Blob and FileReader as the browser SDK meets them (docs/mobile.md), for tests on
 * Node, which has no `Worker` global either: a Blob with `slice` and `size` but no
 * `arrayBuffer()`, and a FileReader that reads one with `readAsArrayBuffer`.
 */

export class NativeBlob extends Blob {
  override slice(start?: number, end?: number, type?: string): NativeBlob {
    return new NativeBlob([super.slice(start, end, type)]);
  }
}
Object.defineProperty(NativeBlob.prototype, 'arrayBuffer', { value: undefined });

/** FileReader reads so far, across instances (tests reset it). */
export const fileReads = { count: 0 };

export class NativeFileReader {
  result: ArrayBuffer | null = null;
  error: Error | null = null;
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  readAsArrayBuffer(blob: Blob): void {
    fileReads.count++;
    Blob.prototype.arrayBuffer.call(blob).then(
      (buffer) => {
        this.result = buffer;
        this.onload?.();
      },
      (error: Error) => {
        this.error = error;
        this.onerror?.();
      },
    );
  }
}
