import { type CSSVariablesResolver, createTheme, MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { StepUpProvider } from '../components/StepUp';
import { createConsoleRouter } from './router';

const theme = createTheme({
  primaryColor: 'indigo',
  fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  defaultRadius: 'md',
  // Shade 8 of indigo and gray 7 for secondary text: both meet WCAG AA contrast (4.5:1) on white,
  // which Mantine's defaults (indigo 6, gray 6) do not.
  primaryShade: { light: 8, dark: 6 },
});

const contrast: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': 'var(--mantine-color-gray-7)',
    '--mantine-color-anchor': 'var(--mantine-color-indigo-8)',
    '--mantine-color-error': 'var(--mantine-color-red-8)',
  },
  dark: {},
});

/**
 * Server state lives in TanStack Query (one cache, invalidated by the mutations that change
 * it), URL state in the router, form state in the forms: no global store.
 */
export function App() {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            // A refused or missing thing does not get better by asking again.
            retry: (count, error) =>
              count < 2 && ((error as { status?: number }).status ?? 0) < 400,
            refetchOnWindowFocus: true,
          },
        },
      }),
  );
  const [router] = useState(() => createConsoleRouter(queryClient));
  // A permission taken away from the signed-in user meanwhile hides what they can no longer do
  // on the next navigation: the current membership (menus and buttons read its permissions) is
  // asked again after every route change (issue 12 #10).
  useEffect(
    () =>
      router.subscribe('onResolved', () => {
        void queryClient.invalidateQueries({ queryKey: ['my-membership'] });
      }),
    [router, queryClient],
  );
  return (
    <MantineProvider theme={theme} defaultColorScheme="light" cssVariablesResolver={contrast}>
      <QueryClientProvider client={queryClient}>
        <StepUpProvider>
          <RouterProvider router={router} />
        </StepUpProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}
