// The body the crash child writes for the record that begins at `offset`, and the crash test
// expects to read back there: its offset, its length, then bytes from both. A record written
// twice, or at the wrong place, shows up as a body that names another offset.
export function fillBody(into, offset, length) {
  const v = new DataView(into.buffer, into.byteOffset, 8);
  v.setUint32(0, offset % 4294967296, true);
  v.setUint32(4, length, true);
  for (let i = 8; i < length; i++) into[i] = (offset * 13 + i) & 0xff;
  return into;
}
