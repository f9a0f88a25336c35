import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL cluster for integration tests: `initdb` in a temp dir, a server on a
 * free port bound to 127.0.0.1 (its unix socket in the temp dir), one database owned by a
 * password user, and `stop()` that shuts it down and removes everything.
 *
 * Needs the PostgreSQL server binaries (initdb, pg_ctl, postgres): found through `PG_BIN`, else
 * the newest /usr/lib/postgresql/<major>/bin, else `pg_config --bindir` on PATH. PostgreSQL
 * refuses to run as root, so as root every server command runs as the `postgres` OS user
 * (`runuser -u postgres --`), which owns the temp dir; as any other user they run as that user.
 */
export interface TestPostgres {
  /** postgresql://<user>:<password>@127.0.0.1:<port>/<database>: the user owns the database and has pg_monitor. */
  url: string;
  /** Superuser URL on the same server (for setting up other roles). */
  adminUrl: string;
  /** Make a URL for another role on the same database. */
  urlFor(user: string, password: string): string;
  port: number;
  database: string;
  user: string;
  password: string;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'pd-pg-'));
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  const superPassword = secret();
  const pwFile = join(dir, 'pwfile');
  writeFileSync(pwFile, `${superPassword}\n`, { mode: 0o600 });
  if (asRoot) {
    const { uid, gid } = postgresOsUser();
    for (const path of [dir, socketDir, pwFile]) chownSync(path, uid, gid);
  }
  const run = (argv: string[]) => runChecked(asRoot ? ['runuser', '-u', 'postgres', '--', ...argv] : argv);

  await run([
    join(bin, 'initdb'),
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--pwfile',
    pwFile,
    '--auth',
    'scram-sha-256',
    '--encoding',
    'UTF8',
    '--locale',
    'C',
    '--no-sync',
  ]);
  rmSync(pwFile);

  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${socketDir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=50',
    ].join(' ');
    try {
      await run([join(bin, 'pg_ctl'), '-D', dataDir, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
      break;
    } catch (error) {
      // Another process may have taken the port between our probe and the server's bind.
      if (attempt >= 3) throw new Error(`${(error as Error).message}\n${serverLog(dir)}`);
    }
  }

  const stop = async () => {
    try {
      await run([join(bin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    const host = `127.0.0.1:${port}`;
    const adminUrl = `postgresql://postgres:${encodeURIComponent(superPassword)}@${host}/postgres`;
    const user = `migrator_${randomBytes(3).toString('hex')}`;
    const password = secret();
    const database = `app_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD '${password}' IN ROLE pg_monitor`);
      await admin.query(`CREATE DATABASE ${database} OWNER ${user}`);
    } finally {
      await admin.end();
    }
    const urlFor = (role: string, rolePassword: string) => `postgresql://${role}:${encodeURIComponent(rolePassword)}@${host}/${database}`;
    return {
      url: urlFor(user, password),
      adminUrl: `postgresql://postgres:${encodeURIComponent(superPassword)}@${host}/${database}`,
      urlFor,
      port,
      database,
      user,
      password,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A random password with characters that need URL-encoding, so tests see both forms. */
function secret(): string {
  return `Pw-${randomBytes(12).toString('base64url')}+/x`;
}

export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(root, majors[0], 'bin');
  }
  throw new Error(
    'PostgreSQL server binaries not found: install postgresql (e.g. apt-get install postgresql-15) or set PG_BIN to the directory holding initdb and pg_ctl',
  );
}

function postgresOsUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) {
    throw new Error('running as root, PostgreSQL needs an unprivileged OS user: no `postgres` user in /etc/passwd');
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function serverLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.log'), 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no server log)';
  }
}

function runChecked(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${argv.join(' ')} exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
