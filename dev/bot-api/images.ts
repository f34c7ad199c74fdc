/**
 * The type and dimensions of an uploaded picture, read from its header as Telegram's servers read
 * the whole image: PNG's IHDR chunk, JPEG's start-of-frame marker. Nothing else is decoded.
 */
export interface ImageSize {
  contentType: 'image/png' | 'image/jpeg';
  /** The file extension Telegram's file paths use for it. */
  extension: 'png' | 'jpg';
  width: number;
  height: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Undefined when the bytes are neither a PNG nor a JPEG whose dimensions can be read. */
export function imageSize(bytes: Buffer): ImageSize | undefined {
  const size = bytes.subarray(0, 8).equals(PNG_SIGNATURE)
    ? pngSize(bytes)
    : bytes[0] === 0xff && bytes[1] === 0xd8
      ? jpegSize(bytes)
      : undefined;
  return size && size.width > 0 && size.height > 0 ? size : undefined;
}

/** The first chunk, IHDR, starts with the width and height as 32-bit big-endian integers. */
function pngSize(bytes: Buffer): ImageSize | undefined {
  if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return {
    contentType: 'image/png',
    extension: 'png',
    width: bytes.readUInt32BE(16),
    height: bytes.readUInt32BE(20),
  };
}

/**
 * Walks the marker segments up to the first start of frame (SOF0-SOF15 less DHT, JPG and DAC):
 * length, precision, then height and width as 16-bit big-endian integers.
 */
function jpegSize(bytes: Buffer): ImageSize | undefined {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    // Fill bytes before a marker, and markers that have no segment.
    if (marker === 0xff || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += marker === 0xff ? 1 : 2;
      continue;
    }
    // Image data starts (SOS) or the image ends (EOI) with no frame header before it.
    if (marker === 0xda || marker === 0xd9) return undefined;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (isFrame) {
      if (at + 9 > bytes.length) return undefined;
      return {
        contentType: 'image/jpeg',
        extension: 'jpg',
        height: bytes.readUInt16BE(at + 5),
        width: bytes.readUInt16BE(at + 7),
      };
    }
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return undefined;
}
