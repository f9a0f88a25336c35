/**
 * Block Kit messages for a deployment: the main message (posted once, then updated in place
 * with the bot token) and the short thread reply for each phase. Every text is cut to Slack's
 * limits here, so what reaches Slack is always accepted.
 */
import {
  describeResult,
  describeTraffic,
  describeVersion,
  eventTitle,
  formatElapsed,
  OUTCOME_EMOJI,
  type DeploymentEvent,
  type TimelineStep,
} from './event.js';
import { isWebUrl, truncate } from './text.js';

export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  blocks: 50,
  buttonText: 75,
  buttonUrl: 3000,
  contextElements: 10,
  /** The notification text: Slack accepts far more, but nobody reads it past this. */
  fallbackText: 3000,
} as const;

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
export interface MrkdwnText {
  type: 'mrkdwn';
  text: string;
}
export interface Button {
  type: 'button';
  text: PlainText;
  url: string;
  action_id: string;
}
export type SlackBlock =
  | { type: 'header'; text: PlainText }
  | { type: 'section'; text?: MrkdwnText; fields?: MrkdwnText[] }
  | { type: 'context'; elements: MrkdwnText[] }
  | { type: 'actions'; elements: Button[] };

export interface SlackMessage {
  /** Shown in notifications and where blocks cannot be. */
  text: string;
  blocks: SlackBlock[];
}

/** The one message per deployment: header, fields, why, steps, run link, buttons. */
export function deploymentMessage(event: DeploymentEvent): SlackMessage {
  const title = eventTitle(event);
  const blocks: SlackBlock[] = [header(`${OUTCOME_EMOJI[event.outcome]} ${title}`)];
  blocks.push({ type: 'section', fields: eventFields(event) });
  if (event.reason) blocks.push(section(`*Why:* ${escapeMrkdwn(event.reason)}`));
  if (event.timeline.length > 0) blocks.push(section(`*Steps*\n${event.timeline.map(stepLine).join('\n')}`));
  blocks.push(runContext(event));
  const buttons = linkButtons(event);
  if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  return { text: truncate(`${title}: ${describeResult(event)}`, SLACK_LIMITS.fallbackText), blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}

/** The thread reply for one phase: what was reached, the weight, the measurements. */
export function phaseReply(event: DeploymentEvent): SlackMessage {
  const latest = event.timeline.at(-1);
  const lines = [`${OUTCOME_EMOJI[event.outcome]} *${escapeMrkdwn(event.phase)}*`];
  const traffic = describeTraffic(event);
  if (traffic) lines.push(`Traffic: ${escapeMrkdwn(traffic)}`);
  if (latest?.analysis && Object.keys(latest.analysis).length > 0) lines.push(`Analysis: ${analysisText(latest)}`);
  if (event.reason && event.outcome !== 'running') lines.push(`Why: ${escapeMrkdwn(event.reason)}`);
  const blocks: SlackBlock[] = [section(lines.join('\n'))];
  if (event.durationMs !== undefined) blocks.push({ type: 'context', elements: [mrkdwn(`after ${formatElapsed(event.durationMs)}`)] });
  return { text: truncate(`${event.service}: ${event.phase}`, SLACK_LIMITS.fallbackText), blocks };
}

/** Slack mrkdwn treats &, < and > as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function eventFields(event: DeploymentEvent): MrkdwnText[] {
  const pairs: [string, string | undefined][] = [
    ['Service', event.namespace ? `${event.service} (${event.namespace})` : event.service],
    ['Environment', event.environment],
    ['Version', describeVersion(event)],
    ['Strategy', event.strategy],
    [event.color && event.weight === undefined ? 'Color' : 'Weight', describeTraffic(event)],
    ['Result', describeResult(event)],
    ['Phase', event.phase],
    ['Duration', event.durationMs === undefined ? undefined : formatElapsed(event.durationMs)],
    ['Started by', event.actor],
  ];
  return pairs
    .filter((pair): pair is [string, string] => Boolean(pair[1]))
    .slice(0, SLACK_LIMITS.fields)
    .map(([name, value]) => field(`*${name}*\n${escapeMrkdwn(value)}`));
}

function stepLine(step: TimelineStep): string {
  const verdict =
    step.verdict === 'passed'
      ? ':white_check_mark:'
      : step.verdict === 'failed'
        ? ':x:'
        : step.verdict === 'inconclusive'
          ? ':grey_question:'
          : '•';
  const parts = [`${verdict} ${escapeMrkdwn(step.name)}`];
  if (step.weight !== undefined) parts.push(`${step.weight}%`);
  if (step.heldMs !== undefined) parts.push(`held ${formatElapsed(step.heldMs)}`);
  if (step.analysis && Object.keys(step.analysis).length > 0) parts.push(analysisText(step));
  return parts.join(' · ');
}

function analysisText(step: TimelineStep): string {
  return Object.entries(step.analysis ?? {})
    .map(([name, value]) => `${escapeMrkdwn(name)} = ${formatNumber(value)}`)
    .join(', ');
}

function runContext(event: DeploymentEvent): SlackBlock {
  const parts: string[] = [];
  if (isWebUrl(event.runUrl)) parts.push(`<${linkUrl(event.runUrl)}|Workflow run>`);
  if (event.actor) parts.push(`started by ${escapeMrkdwn(event.actor)}`);
  parts.push(`at ${escapeMrkdwn(event.startedAt)}`);
  return { type: 'context', elements: [mrkdwn(parts.join(' · '))] };
}

function linkButtons(event: DeploymentEvent): Button[] {
  const buttons: Button[] = [];
  if (isWebUrl(event.runUrl) && event.runUrl.length <= SLACK_LIMITS.buttonUrl) {
    buttons.push(button('View run', event.runUrl, 'open-run'));
  }
  if (isWebUrl(event.environmentUrl) && event.environmentUrl.length <= SLACK_LIMITS.buttonUrl) {
    buttons.push(button(event.environment ? `Open ${event.environment}` : 'Open environment', event.environmentUrl, 'open-environment'));
  }
  return buttons;
}

function header(text: string): SlackBlock {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.headerText), emoji: true } };
}

function section(text: string): SlackBlock {
  return { type: 'section', text: mrkdwn(cutMrkdwn(text, SLACK_LIMITS.sectionText)) };
}

function field(text: string): MrkdwnText {
  return mrkdwn(cutMrkdwn(text, SLACK_LIMITS.fieldText));
}

function mrkdwn(text: string): MrkdwnText {
  return { type: 'mrkdwn', text };
}

function button(text: string, url: string, actionId: string): Button {
  return {
    type: 'button',
    text: { type: 'plain_text', text: truncate(text, SLACK_LIMITS.buttonText), emoji: true },
    url,
    action_id: actionId,
  };
}

/** Truncate escaped mrkdwn without leaving half an entity (`&am…`) at the cut. */
function cutMrkdwn(text: string, max: number): string {
  const cut = truncate(text, max);
  return cut === text ? text : cut.replace(/&[a-z]{0,3}…$/, '…');
}

/** A URL inside <url|label>: `|` and `>` would end it early. */
function linkUrl(url: string): string {
  return url.replace(/\|/g, '%7C').replace(/>/g, '%3E').replace(/</g, '%3C');
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : String(+value.toPrecision(4));
}
