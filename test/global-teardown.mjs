export default async function globalTeardown() {
  await globalThis.nmcDatabase?.stop();
}
