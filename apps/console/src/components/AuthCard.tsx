import { Anchor, Box, Center, Paper, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** The frame of every public page (sign in, sign up, links from emails): one centred card. */
export function AuthCard(props: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
}) {
  return (
    <Center mih="100dvh" p="md" bg="gray.0">
      <Box w="100%" maw={440}>
        <Text ta="center" fw={700} size="lg" mb="md" c="indigo.8">
          Gatehouse
        </Text>
        <Paper withBorder shadow="sm" radius="md" p={{ base: 'lg', sm: 'xl' }}>
          <Stack gap="md">
            <div>
              <Title order={1} size="h2">
                {props.title}
              </Title>
              {props.subtitle ? (
                <Text c="dimmed" size="sm" mt={4}>
                  {props.subtitle}
                </Text>
              ) : null}
            </div>
            {props.children}
          </Stack>
        </Paper>
        {props.footer ? (
          <Text ta="center" size="sm" mt="md">
            {props.footer}
          </Text>
        ) : null}
      </Box>
    </Center>
  );
}

export { Anchor };
