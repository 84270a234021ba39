/**
 * The key of a server in a result file's `environment.servers`: the backend's id, with
 * `/durability=<mode>` when its cases asked for a durability other than `none` (a broker
 * started for each durability is a different server). Built here and nowhere else; readers use
 * the record's own `backend` and `durability` fields, and the key only in files written before
 * records carried them.
 */
export function serverKey(backend: string, durability: string | undefined): string {
  return durability === undefined || durability === 'none' ? backend : `${backend}/durability=${durability}`;
}

/** The backend a key names: for files whose server records predate their `backend` field. */
export function backendOfServerKey(key: string): string {
  return key.split('/')[0];
}
