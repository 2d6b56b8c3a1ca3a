export default async function globalTeardown() {
  await globalThis.__NMC_DB__?.stop();
}
