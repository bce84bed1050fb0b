// Minimal ZIP central-directory reader: lists entry names (enough to prove a DOCX is a real zip).

export class ZipError extends Error {}

const EOCD_SIG = 0x06054b50;
const CDIR_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

export function zipEntryNames(data: Buffer): string[] {
  if (data.length < 22) throw new ZipError(`too short for a zip (${data.length} bytes)`);
  let eocd = -1;
  const stop = Math.max(0, data.length - 22 - 0xffff);
  for (let i = data.length - 22; i >= stop; i--) {
    if (data.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError("no end-of-central-directory record");
  const count = data.readUInt16LE(eocd + 10);
  const size = data.readUInt32LE(eocd + 12);
  const offset = data.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || count === 0xffff) throw new ZipError("zip64 archives are not supported");
  if (offset + size > eocd) throw new ZipError("central directory lies outside the archive");
  const names: string[] = [];
  let p = offset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > data.length || data.readUInt32LE(p) !== CDIR_SIG) throw new ZipError(`bad central directory entry #${n}`);
    const nameLen = data.readUInt16LE(p + 28);
    const extraLen = data.readUInt16LE(p + 30);
    const commentLen = data.readUInt16LE(p + 32);
    const localOffset = data.readUInt32LE(p + 42);
    const name = data.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    if (localOffset + 30 > data.length || data.readUInt32LE(localOffset) !== LOCAL_SIG) {
      throw new ZipError(`entry ${name}: no local file header at offset ${localOffset}`);
    }
    names.push(name);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}
