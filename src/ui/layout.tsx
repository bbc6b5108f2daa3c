import { Box, Text, Transform } from 'ink';
import type React from 'react';
import type { ReactNode } from 'react';

/**
 * Ink wraps with wrap-ansi keeping white space (trim: false), so a row that breaks at a space starts the next row
 * with it: continuation rows lose that one leading space (after any colour codes).
 */
export function dropWrapSpace(line: string, index: number): string {
  return index === 0 ? line : line.replace(/^((?:\u001b\[[0-9;]*m)*) /, '$1');
}

type TextProps = React.ComponentProps<typeof Text>;

/** Text that wraps at word boundaries to the width it is given, continuation rows flush left. */
export function Wrapped({ children, ...props }: Omit<TextProps, 'wrap'>) {
  return (
    <Transform transform={dropWrapSpace}>
      <Text {...props} wrap="wrap">
        {children}
      </Text>
    </Transform>
  );
}

/**
 * A line with a fixed lead (a label, a row number) and text that wraps under itself, never under the lead:
 *
 *   now        P2.1 agent write the summary of the week's
 *              accounts to notes/week.md
 */
export function Hanging({
  lead,
  width,
  children,
  dim = false,
  inverse = false,
  bold = false,
}: {
  lead: ReactNode;
  width: number;
  children: ReactNode;
  dim?: boolean;
  inverse?: boolean;
  bold?: boolean;
}) {
  return (
    <Box flexDirection="row">
      <Box width={width} flexShrink={0}>
        <Text dimColor={dim} inverse={inverse} bold={bold}>
          {lead}
        </Text>
      </Box>
      <Box flexGrow={1} flexShrink={1}>
        <Wrapped dimColor={dim} inverse={inverse} bold={bold}>
          {children}
        </Wrapped>
      </Box>
    </Box>
  );
}
