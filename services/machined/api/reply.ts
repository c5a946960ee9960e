/**
 * The one shape of a machined reply: a single message whose metadata apid
 * fills in (hostname, error) when it merges the answers of many nodes.
 * @module
 */

/** `{ messages: [{ metadata: undefined, ...fields }] }`, resolved. */
export function reply<F extends object>(
  fields: F,
): Promise<{ messages: Array<F & { metadata: undefined }> }> {
  return Promise.resolve({ messages: [{ ...fields, metadata: undefined }] });
}
