import { describe, expect, it } from 'vitest';
import { deploymentMessage, phaseReply, SLACK_LIMITS, type SlackBlock, type SlackMessage } from '../../src/core/notify/slack-message.js';
import { canaryEvent } from './fakes.js';

/** Every text of a message, checked against Slack's documented Block Kit limits. */
function expectWithinLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
  for (const block of message.blocks) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    if (block.type === 'section') {
      if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(block.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
      for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
    }
    if (block.type === 'context') expect(block.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
    if (block.type === 'actions') {
      for (const button of block.elements) {
        expect(button.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonText);
        expect(button.url.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonUrl);
      }
    }
  }
}

describe('deploymentMessage', () => {
  it('lays out header, fields, steps, run link and buttons exactly', () => {
    const message = deploymentMessage(canaryEvent());
    expect(message).toEqual({
      text: 'Deploy checkout 1.25.0 to production: In progress',
      blocks: [
        {
          type: 'header',
          text: { type: 'plain_text', text: ':arrows_counterclockwise: Deploy checkout 1.25.0 to production', emoji: true },
        },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Service*\ncheckout (shop)' },
            { type: 'mrkdwn', text: '*Environment*\nproduction' },
            { type: 'mrkdwn', text: '*Version*\n1.25.0' },
            { type: 'mrkdwn', text: '*Strategy*\ncanary' },
            { type: 'mrkdwn', text: '*Weight*\n25%' },
            { type: 'mrkdwn', text: '*Result*\nIn progress' },
            { type: 'mrkdwn', text: '*Phase*\nstep 2/3' },
            { type: 'mrkdwn', text: '*Duration*\n3m 05s' },
            { type: 'mrkdwn', text: '*Started by*\noctocat' },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text:
              '*Steps*\n' +
              ':white_check_mark: canary 10% · 10% · held 1m 00s · error-rate = 0.4, p95-ms = 180\n' +
              ':white_check_mark: canary 25% · 25% · held 2m 00s · error-rate = 0.6, p95-ms = 190',
          },
        },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: '<https://github.com/acme/shop/actions/runs/8812|Workflow run> · started by octocat · at 2026-11-23T10:00:00.000Z',
            },
          ],
        },
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              text: { type: 'plain_text', text: 'View run', emoji: true },
              url: 'https://github.com/acme/shop/actions/runs/8812',
              action_id: 'open-run',
            },
            {
              type: 'button',
              text: { type: 'plain_text', text: 'Open production', emoji: true },
              url: 'https://shop.example.com',
              action_id: 'open-environment',
            },
          ],
        },
      ],
    });
    expectWithinLimits(message);
  });

  it('shows the color for blue-green, the reason on failure, and the outcome with the action word', () => {
    const message = deploymentMessage(
      canaryEvent({
        strategy: 'blue-green',
        weight: undefined,
        color: 'green',
        outcome: 'rolled-back',
        result: 'switched back',
        reason: 'p95 > 250ms on green',
        timeline: [],
      }),
    );
    const fields = (message.blocks[1] as Extract<SlackBlock, { type: 'section' }>).fields!.map((f) => f.text);
    expect(fields).toContain('*Color*\ngreen');
    expect(fields).toContain('*Result*\nRolled back (switched back)');
    expect(message.blocks[0]).toMatchObject({ text: { text: ':leftwards_arrow_with_hook: Deploy checkout 1.25.0 to production' } });
    expect(message.blocks[2]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*Why:* p95 &gt; 250ms on green' } });
  });

  it('escapes Slack control characters in user text', () => {
    const message = deploymentMessage(canaryEvent({ reason: 'query <!channel> & <https://evil.example|click>', timeline: [] }));
    const why = message.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*Why:*'));
    expect(why).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '*Why:* query &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;' },
    });
  });

  it('cuts every text to its limit with an ellipsis, whatever it is given', () => {
    const long = 'x'.repeat(10_000);
    const message = deploymentMessage(
      canaryEvent({
        service: `svc-${long}`,
        version: long,
        reason: `${long}&${long}`,
        environment: long,
        actor: long,
        timeline: Array.from({ length: 200 }, (_, i) => ({
          name: `step ${i} ${long}`,
          weight: i % 100,
          startedAt: '2026-11-23T10:00:00Z',
          analysis: { rate: i },
        })),
      }),
    );
    expectWithinLimits(message);
    const header = message.blocks[0] as Extract<SlackBlock, { type: 'header' }>;
    expect(header.text.text).toHaveLength(SLACK_LIMITS.headerText);
    expect(header.text.text.endsWith('…')).toBe(true);
    const fields = (message.blocks[1] as Extract<SlackBlock, { type: 'section' }>).fields!;
    expect(fields[0]!.text).toHaveLength(SLACK_LIMITS.fieldText);
    expect(fields[0]!.text.endsWith('…')).toBe(true);
    const steps = message.blocks.find((b) => b.type === 'section' && b.text?.text.startsWith('*Steps*')) as Extract<
      SlackBlock,
      { type: 'section' }
    >;
    expect(steps.text!.text).toHaveLength(SLACK_LIMITS.sectionText);
  });

  it('never leaves half an entity where an escaped text is cut', () => {
    const reason = `${'a'.repeat(2990)}<<<<<<<<<<`;
    const message = deploymentMessage(canaryEvent({ reason, timeline: [] }));
    const why = (message.blocks[2] as Extract<SlackBlock, { type: 'section' }>).text!.text;
    expect(why.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    expect(why.endsWith('…')).toBe(true);
    expect(why).not.toMatch(/&[a-z]*…$/);
  });

  it('leaves out buttons whose URL is not http(s), and the actions block when none is left', () => {
    const message = deploymentMessage(canaryEvent({ runUrl: 'javascript:alert(1)', environmentUrl: undefined }));
    expect(message.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(message)).not.toContain('javascript:');
  });

  it('keeps a URL with | or > from ending the run link early', () => {
    const message = deploymentMessage(canaryEvent({ runUrl: 'https://ci.example.com/run?a=1|b>2' }));
    const context = message.blocks.find((b) => b.type === 'context') as Extract<SlackBlock, { type: 'context' }>;
    expect(context.elements[0]!.text).toContain('<https://ci.example.com/run?a=1%7Cb%3E2|Workflow run>');
  });
});

describe('phaseReply', () => {
  it('names the phase, the weight and the latest measurements', () => {
    expect(phaseReply(canaryEvent())).toEqual({
      text: 'checkout: step 2/3',
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: ':arrows_counterclockwise: *step 2/3*\nTraffic: 25%\nAnalysis: error-rate = 0.6, p95-ms = 190' },
        },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'after 3m 05s' }] },
      ],
    });
  });
});
