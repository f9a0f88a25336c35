/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
 * kubectl 1.32 sends built-in objects from its typed clients (`kubectl create
 * configmap|secret|namespace ...`) as protobuf. We decode the envelope
 * (magic "k8s\0" + runtime.Unknown) and the few kinds those commands create,
 * from their field numbers in k8s.io/api generated.proto. Other kinds answer 415.
 */
import { ApiError } from './status.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

export type Field = { no: number; wire: number; value: Buffer | bigint };

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
}

export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, next] = readVarint(buf, pos);
    pos = next;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p] = readVarint(buf, pos);
      out.push({ no, wire, value: v });
      pos = p;
    } else if (wire === 2) {
      const [len, p] = readVarint(buf, pos);
      const end = p + Number(len);
      out.push({ no, wire, value: buf.subarray(p, end) });
      pos = end;
    } else if (wire === 1) {
      out.push({ no, wire, value: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 5) {
      out.push({ no, wire, value: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

const str = (f: Field) => (f.value as Buffer).toString('utf8');
const num = (f: Field) => Number(f.value as bigint);

function mapEntry(f: Field, valueAsBase64 = false): [string, string] {
  let key = '';
  let value = '';
  for (const e of fields(f.value as Buffer)) {
    if (e.no === 1) key = str(e);
    if (e.no === 2) value = valueAsBase64 ? (e.value as Buffer).toString('base64') : str(e);
  }
  return [key, value];
}

export function objectMeta(buf: Buffer): Record<string, any> {
  const meta: Record<string, any> = {};
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        meta.name = str(f);
        break;
      case 2:
        meta.generateName = str(f);
        break;
      case 3:
        meta.namespace = str(f);
        break;
      case 5:
        meta.uid = str(f);
        break;
      case 6:
        meta.resourceVersion = str(f);
        break;
      case 11:
        (meta.labels ??= {})[mapEntry(f)[0]] = mapEntry(f)[1];
        break;
      case 12:
        (meta.annotations ??= {})[mapEntry(f)[0]] = mapEntry(f)[1];
        break;
      case 14:
        (meta.finalizers ??= []).push(str(f));
        break;
      default:
        break; // timestamps, owner references, managed fields: set by the server
    }
  }
  for (const k of Object.keys(meta)) if (meta[k] === '') delete meta[k];
  return meta;
}

function decodeKind(kind: string, buf: Buffer): Record<string, any> {
  const obj: Record<string, any> = {};
  for (const f of fields(buf)) {
    if (f.no === 1) {
      obj.metadata = objectMeta(f.value as Buffer);
      continue;
    }
    switch (kind) {
      case 'ConfigMap':
        if (f.no === 2) (obj.data ??= {})[mapEntry(f)[0]] = mapEntry(f)[1];
        if (f.no === 3) (obj.binaryData ??= {})[mapEntry(f, true)[0]] = mapEntry(f, true)[1];
        if (f.no === 4) obj.immutable = num(f) !== 0;
        break;
      case 'Secret':
        if (f.no === 2) (obj.data ??= {})[mapEntry(f, true)[0]] = mapEntry(f, true)[1];
        if (f.no === 3) obj.type = str(f);
        if (f.no === 4) (obj.stringData ??= {})[mapEntry(f)[0]] = mapEntry(f)[1];
        if (f.no === 5) obj.immutable = num(f) !== 0;
        break;
      case 'Namespace':
        if (f.no === 2)
          obj.spec = {
            finalizers: fields(f.value as Buffer)
              .filter((x) => x.no === 1)
              .map(str),
          };
        break;
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the test cluster decodes protobuf bodies only for ConfigMap, Secret and Namespace, not ${kind}; send JSON (e.g. kubectl apply -f)`,
        );
    }
  }
  return obj;
}

/** Decode a `k8s\0`-prefixed runtime.Unknown envelope into a plain JSON object. */
export function decodeProtobufObject(body: Buffer): Record<string, any> {
  const { apiVersion, kind, raw } = decodeEnvelope(body);
  return { apiVersion, kind, ...decodeKind(kind, raw) };
}

/** The type and raw message of a `k8s\0`-prefixed runtime.Unknown envelope. */
export function decodeEnvelope(body: Buffer): { apiVersion: string; kind: string; raw: Buffer } {
  if (body.length < 4 || body.subarray(0, 4).toString('latin1') !== 'k8s\0') {
    throw new ApiError(400, 'BadRequest', 'provided protobuf data is missing the "k8s\\x00" prefix');
  }
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1) {
      for (const t of fields(f.value as Buffer)) {
        if (t.no === 1) apiVersion = str(t);
        if (t.no === 2) kind = str(t);
      }
    }
    if (f.no === 2) raw = f.value as Buffer;
  }
  return { apiVersion, kind, raw };
}
