import type { List, ListItem, RootContent, Table } from 'mdast';
import { toString } from 'mdast-util-to-string';
import { endOffset, pointOf, startOffset } from './markdown.js';
import { endOfLine, isPlaceholder, normaliseKey, normaliseSkillName, splitList, splitVerify, startOfLine } from './text.js';
import type { Criterion, ExcludedSkill, ListEntry, MappedSkill, Point, Section, SkillAudit } from './types.js';

// The plan's `##` sections and what the small ones hold: lists of entries, the success criteria, the skill audit.

export interface RawSection extends Section {
  nodes: RootContent[];
}

export function splitSections(text: string, nodes: RootContent[]): RawSection[] {
  const sections: RawSection[] = [];
  let current: RawSection | null = null;
  for (const node of nodes) {
    if (node.type === 'heading' && node.depth <= 2) {
      if (current) current.endOffset = startOffset(node);
      current = null;
      if (node.depth === 2) {
        const title = toString(node).trim();
        current = {
          title,
          key: normaliseKey(title),
          heading: { start: pointOf(node), end: { ...pointOf(node), offset: endOffset(node) } },
          endOffset: text.length,
          nodes: [],
        };
        sections.push(current);
      }
      continue;
    }
    current?.nodes.push(node);
  }
  return sections;
}

export function itemText(text: string, item: ListItem): string {
  const first = item.children[0];
  if (!first) return '';
  return text.slice(startOffset(first), endOffset(item)).trim();
}

function firstList(nodes: RootContent[]): List | null {
  return (nodes.find((node) => node.type === 'list') as List | undefined) ?? null;
}

export function readEntries(text: string, nodes: RootContent[]): ListEntry[] {
  const list = firstList(nodes);
  if (list) {
    return list.children.map((item) => ({ text: itemText(text, item), line: pointOf(item).line })).filter((entry) => !isPlaceholder(entry.text));
  }
  return nodes
    .filter((node) => node.type === 'paragraph')
    .map((node) => ({ text: text.slice(startOffset(node), endOffset(node)).trim(), line: pointOf(node).line }))
    .filter((entry) => !isPlaceholder(entry.text));
}

const CHECKBOX = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[([ xX])\]/;
const CRITERION_ID = /^(?:\*\*)?(SC\d+)(?:\*\*)?\s*:\s*/;

export function readCriteria(text: string, nodes: RootContent[], pointAt: (offset: number) => Point): Criterion[] {
  const list = firstList(nodes);
  if (!list) return [];
  return list.children.map((item) => {
    const itemStart = startOffset(item);
    const lineStart = startOfLine(text, itemStart);
    const checkbox = CHECKBOX.exec(text.slice(lineStart, endOfLine(text, itemStart)));
    const checkOffset = checkbox ? lineStart + checkbox[0].length - 2 : null;
    const raw = itemText(text, item);
    const idMatch = CRITERION_ID.exec(raw);
    const body = idMatch ? raw.slice(idMatch[0].length) : raw;
    const verifiable = splitVerify(body);
    const at = pointAt(itemStart);
    return {
      id: idMatch ? idMatch[1]! : null,
      text: verifiable.text,
      checked: item.checked ?? null,
      verify: verifiable.verify,
      verifyMalformed: verifiable.verifyMalformed,
      line: at.line,
      column: at.column,
      checkOffset,
    };
  });
}

function tableRows(text: string, table: Table): Array<{ cells: string[]; line: number }> {
  return table.children.map((row) => ({
    cells: row.children.map((cell) => text.slice(startOffset(cell), endOffset(cell)).replace(/^\|/, '').replace(/\|$/, '').trim().replace(/\\\|/g, '|')),
    line: pointOf(row).line,
  }));
}

export function readSkills(text: string, nodes: RootContent[]): SkillAudit {
  const audit: SkillAudit = { mapped: null, excluded: null };
  let heading: string | null = null;
  for (const node of nodes) {
    if (node.type === 'heading') {
      heading = normaliseKey(toString(node));
      continue;
    }
    if (node.type !== 'table' || heading === null) continue;
    const [header, ...rows] = tableRows(text, node);
    if (!header) continue;
    const column = (name: string) => header.cells.findIndex((cell) => normaliseKey(cell.replace(/[*_`]/g, '')) === name);
    const skillColumn = Math.max(0, column('skill'));
    if (heading.startsWith('mapped') && audit.mapped === null) {
      const phasesColumn = column('phases') === -1 ? column('phase') : column('phases');
      const whyColumn = column('why');
      audit.mapped = rows.map<MappedSkill>((row) => ({
        name: normaliseSkillName(row.cells[skillColumn] ?? ''),
        phases: phasesColumn === -1 ? [] : splitList(row.cells[phasesColumn] ?? '').flatMap((part) => part.split(/\s+/)),
        why: whyColumn === -1 ? '' : (row.cells[whyColumn] ?? '').trim(),
        line: row.line,
      }));
    } else if (heading.startsWith('excluded') && audit.excluded === null) {
      const reasonColumn = column('reason') === -1 ? column('why') : column('reason');
      audit.excluded = rows.map<ExcludedSkill>((row) => ({
        name: normaliseSkillName(row.cells[skillColumn] ?? ''),
        reason: reasonColumn === -1 ? '' : (row.cells[reasonColumn] ?? '').trim(),
        line: row.line,
      }));
    }
    heading = null;
  }
  return audit;
}
