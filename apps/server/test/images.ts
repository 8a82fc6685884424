import { deflateSync } from 'node:zlib';

/**
 * Tiny but genuine images, built byte by byte, so avatar tests upload what a browser would and
 * the repository carries no binary fixtures.
 */

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A 1×1 RGB PNG of the given colour. */
export function tinyPng(rgb: [number, number, number] = [0x33, 0x66, 0xcc]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0); // width
  header.writeUInt32BE(1, 4); // height
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  // compression, filter and interlace methods stay 0
  const scanline = Buffer.from([0, ...rgb]); // filter byte "none", then one pixel
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(scanline)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const segment = (marker: number, payload: number[]) => {
  const length = payload.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...payload];
};

/**
 * An 8×8 mid-grey baseline JPEG: one component, a flat quantisation table, and Huffman tables
 * with a single 1-bit code each (DC difference 0, end of block), so the scan is two zero bits.
 */
export function tinyJpeg(): Buffer {
  return Buffer.from([
    0xff,
    0xd8, // SOI
    ...segment(0xdb, [0x00, ...new Array(64).fill(1)]), // DQT, table 0
    ...segment(0xc0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]), // SOF0: 8 bit, 8x8, 1 component
    ...segment(0xc4, [0x00, 1, ...new Array(15).fill(0), 0x00]), // DHT DC0: one code -> 0
    ...segment(0xc4, [0x10, 1, ...new Array(15).fill(0), 0x00]), // DHT AC0: one code -> EOB
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
    0x3f, // bits 00 (DC 0, EOB), padded with ones
    0xff,
    0xd9, // EOI
  ]);
}

/** Packs bits least-significant first, as the WebP lossless bitstream wants them. */
function packBits(fields: [value: number, bits: number][]): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let used = 0;
  for (const [value, bits] of fields) {
    for (let i = 0; i < bits; i++) {
      acc |= ((value >> i) & 1) << used;
      used++;
      if (used === 8) {
        bytes.push(acc);
        acc = 0;
        used = 0;
      }
    }
  }
  if (used > 0) bytes.push(acc);
  return Buffer.from(bytes);
}

/**
 * A 1×1 lossless WebP (VP8L): no transforms, no colour cache, and five "simple" prefix codes
 * with one symbol each, so the single pixel takes no bits at all.
 */
export function tinyWebp(
  argb: [number, number, number, number] = [0xff, 0x33, 0x66, 0xcc],
): Buffer {
  const [a, r, g, b] = argb;
  const oneSymbol = (symbol: number): [number, number][] => [
    [1, 1], // simple code
    [0, 1], // one symbol
    [1, 1], // the symbol takes 8 bits
    [symbol, 8],
  ];
  const bitstream = packBits([
    [0x2f, 8], // VP8L signature
    [0, 14], // width - 1
    [0, 14], // height - 1
    [0, 1], // alpha hint
    [0, 3], // version
    [0, 1], // no transform
    [0, 1], // no colour cache
    [0, 1], // no meta prefix codes
    ...oneSymbol(g),
    ...oneSymbol(r),
    ...oneSymbol(b),
    ...oneSymbol(a),
    ...oneSymbol(0), // distance
  ]);
  const padded = bitstream.length % 2 ? Buffer.concat([bitstream, Buffer.alloc(1)]) : bitstream;
  const chunkHeader = Buffer.alloc(8);
  chunkHeader.write('VP8L', 0, 'latin1');
  chunkHeader.writeUInt32LE(bitstream.length, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + 8 + padded.length, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, chunkHeader, padded]);
}
