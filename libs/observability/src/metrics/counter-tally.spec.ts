import { Counter, Registry } from 'prom-client';
import { CounterTally } from './counter-tally';

describe('CounterTally', () => {
  const registry = new Registry();
  const tally = new CounterTally('type', 'outcome');
  const counter = new Counter({
    name: 'tallied_total',
    help: 'h',
    labelNames: ['type', 'outcome'],
    registers: [registry],
    collect() {
      tally.flushInto(this);
    },
  });

  it('shows every increment at the next read, by label pair, and none twice', async () => {
    tally.add('noop', 'succeeded');
    tally.add('noop', 'succeeded');
    tally.add('noop', 'failed', 3);
    tally.add('http', 'succeeded');
    expect(await registry.getSingleMetricAsString('tallied_total')).toContain(
      [
        'tallied_total{type="noop",outcome="succeeded"} 2',
        'tallied_total{type="noop",outcome="failed"} 3',
        'tallied_total{type="http",outcome="succeeded"} 1',
      ].join('\n'),
    );
    tally.add('noop', 'failed');
    const values = (await counter.get()).values.map((v) => [v.labels.type, v.labels.outcome, v.value]);
    expect(values).toEqual([
      ['noop', 'succeeded', 2],
      ['noop', 'failed', 4],
      ['http', 'succeeded', 1],
    ]);
  });
});
