// Genuine OTel JS SDK log records and metrics, exported over OTLP to a running collector.
// Usage: node produce.mjs PROTOCOL TEMPORALITY ENDPOINT
//   PROTOCOL: grpc | http-proto | http-json; TEMPORALITY: cumulative | delta;
//   ENDPOINT: the collector's base URL (http://127.0.0.1:PORT, its gRPC or its HTTP port).
// Prints one JSON line: the trace and span id the first log record was emitted under.
// tests/collector/test_node_signals.py holds the stored rows equal to what this sends.
import { context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as GrpcLogs } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as JsonLogs } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogs } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as GrpcMetrics } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { AggregationTemporalityPreference, OTLPMetricExporter as JsonMetrics } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetrics } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

const [protocol, temporality, endpoint] = process.argv.slice(2);
const EXPORTERS = {
  grpc: [GrpcLogs, GrpcMetrics, ''],
  'http-proto': [ProtoLogs, ProtoMetrics, 'path'],
  'http-json': [JsonLogs, JsonMetrics, 'path'],
};
const [LogExporter, MetricExporter, withPath] = EXPORTERS[protocol];
const url = (signal) => (withPath ? `${endpoint}/v1/${signal}` : endpoint);
const temporalityPreference = temporality === 'delta'
  ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE;

const resource = resourceFromAttributes({ 'service.name': 'node-signals', 'producer.protocol': protocol });

// -- logs: one record inside a span (ids, event name, every attribute kind), one with a map body
const span = new BasicTracerProvider().getTracer('node.producer').startSpan('node-work');
const inSpan = trace.setSpan(context.active(), span);
const loggers = new LoggerProvider({
  resource,
  processors: [new SimpleLogRecordProcessor({ exporter: new LogExporter({ url: url('logs'), timeoutMillis: 10000 }) })],
});
const logger = loggers.getLogger('node.producer', '1.2.3', { attributes: { 'scope.kind': 'test' } });
logger.emit({
  timestamp: [1700000000, 123456789],
  severityNumber: SeverityNumber.WARN,
  severityText: 'WARN',
  eventName: 'node.event',
  body: 'disk almost full',
  attributes: { s: 'text', i: 42, d: 2.5, b: true, list: ['x', 'y'], map: { k: 'v', n: 1 }, raw: new Uint8Array([1, 2]) },
  context: inSpan,
});
logger.emit({
  timestamp: [1700000001, 0],
  severityNumber: SeverityNumber.ERROR,
  severityText: 'ERROR',
  body: { reason: 'timeout', attempts: 3 },
});
span.end();
await loggers.shutdown();

// -- metrics: counter, up-down counter, gauge, observable gauge, histogram, exponential histogram
const meters = new MeterProvider({
  resource,
  views: [{ instrumentName: 'node.sizes', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  readers: [new PeriodicExportingMetricReader({
    exporter: new MetricExporter({ url: url('metrics'), temporalityPreference, timeoutMillis: 10000 }),
    exportIntervalMillis: 600000,
  })],
});
const meter = meters.getMeter('node.meter', '4.5.6');
const requests = meter.createCounter('node.requests', { description: 'requests served', unit: '1' });
requests.add(3, { route: '/a' });
requests.add(2, { route: '/a' });
const queue = meter.createUpDownCounter('node.queue');
queue.add(5);
queue.add(-2);
meter.createGauge('node.temperature', { unit: 'Cel' }).record(21.5, { room: 'lab' });
meter.createObservableGauge('node.memory').addCallback((result) => result.observe(1234, { kind: 'heap' }));
const latency = meter.createHistogram('node.latency', { unit: 'ms', advice: { explicitBucketBoundaries: [0, 100, 1000] } });
for (const value of [10, 20, 700]) latency.record(value);
const sizes = meter.createHistogram('node.sizes');
for (const value of [1, 2, 4]) sizes.record(value);
await meters.shutdown();  // collects and exports once

process.stdout.write(JSON.stringify({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId }) + '\n');
