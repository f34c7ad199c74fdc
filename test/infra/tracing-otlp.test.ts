/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave over OTLP/HTTP to the collector's /v1/traces.
 * No OpenTelemetry collector runs here: a listener on 127.0.0.1 stands in for it and records what
 * arrives (the exporter itself is OpenTelemetry's).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logging';
import { inSpan, installTracing, uninstallTracing } from '../../infra/tracing';

describe('traces over OTLP', () => {
  afterAll(() => uninstallTracing());

  it('are sent to the endpoint when a process stops', async () => {
    const received: { path: string; type: string; bytes: number; body: Buffer }[] = [];
    const collector = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({
          path: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          bytes: body.length,
          body,
        });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((ready) => collector.listen(0, '127.0.0.1', ready));
    try {
      const { port } = collector.address() as AddressInfo;
      const lines: string[] = [];
      const flush = installTracing(
        createLogger('info', { write: (line: string) => lines.push(line) }),
        'farmflow-otlp-test',
        { endpoint: `http://127.0.0.1:${port}/` },
      );
      expect(lines.join('')).toContain('traces exported over OTLP');
      await inSpan('telegram update', { 'telegram.update_id': 42 }, async () => {});
      await flush();
      expect(received).toHaveLength(1);
      expect(received[0]!.path).toBe('/v1/traces');
      expect(received[0]!.type).toBe('application/x-protobuf');
      // The span's name and the service's travel as strings inside the protobuf.
      expect(received[0]!.body.toString('latin1')).toContain('telegram update');
      expect(received[0]!.body.toString('latin1')).toContain('farmflow-otlp-test');
    } finally {
      collector.close();
    }
  });

  it('are off, with one log line, when no endpoint is set', () => {
    const lines: string[] = [];
    installTracing(createLogger('info', { write: (line: string) => lines.push(line) }), 'x', {});
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('traces off: OTEL_EXPORTER_OTLP_ENDPOINT is not set');
  });
});
