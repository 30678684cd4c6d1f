// Genuine Vercel AI SDK spans, offline: generateText with a tool on MockLanguageModelV3 (ai/test),
// captured by an in-memory exporter and written as one OTLP protobuf ExportTraceServiceRequest.
// Usage: node produce.mjs OUT_FILE   (scenario values as JSON on stdin, from tests/semconv/scenario.py)
import { readFileSync, writeFileSync } from 'node:fs';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { generateText, tool, jsonSchema, stepCountIs } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';

const sc = JSON.parse(readFileSync(0, 'utf8'));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());  // parent/child links
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('vercel-ai-producer');

const usage = (t) => ({
  inputTokens: { total: t.input, noCache: t.input - t.cached, cacheRead: t.cached, cacheWrite: 0 },
  outputTokens: { total: t.output, text: t.output - t.reasoning, reasoning: t.reasoning },
});
const turns = [
  { content: [{ type: 'tool-call', toolCallId: sc.TOOL_CALL_ID, toolName: sc.TOOL_NAME, input: sc.TOOL_ARGS_JSON }],
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage: usage(sc.TOOL_TURN_USAGE), warnings: [] },
  { content: [{ type: 'text', text: sc.FINAL_ANSWER }],
    finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(sc.FINAL_TURN_USAGE), warnings: [] },
];
let turn = 0;
const model = new MockLanguageModelV3({
  provider: 'openai.chat', modelId: sc.MODEL,
  doGenerate: async () => ({ ...turns[turn++], response: { modelId: sc.RESPONSE_MODEL, id: `resp-${turn}` } }),
});

await generateText({
  model,
  system: sc.SYSTEM_PROMPT,
  prompt: sc.USER_PROMPT,
  stopWhen: stepCountIs(4),
  tools: {
    [sc.TOOL_NAME]: tool({
      description: sc.TOOL_DESCRIPTION,
      inputSchema: jsonSchema(sc.TOOL_PARAMETERS),
      execute: async ({ city }) => (city === 'Paris' ? sc.TOOL_RESULT : 'unknown city'),
    }),
  },
  experimental_telemetry: { isEnabled: true, functionId: sc.AGENT_NAME, tracer,
                            metadata: { sessionId: sc.SESSION_ID, userId: sc.USER_ID } },
});
await provider.forceFlush();
writeFileSync(process.argv[2], ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans()));
