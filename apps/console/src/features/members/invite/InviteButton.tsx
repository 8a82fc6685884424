import { Button, type ButtonProps } from '@mantine/core';
import { useNavigate, useRouterState } from '@tanstack/react-router';
import { useState } from 'react';
import { flowFor } from './flows';
import { useGrantable } from './grantable';
import { InviteDialog } from './InviteDialog';

/**
 * The template's "Add user" / "Invite member" / "Associate user" button with its dialog. Shown
 * only to those who may add people; the dialog also opens when the page's URL has `?invite=1`
 * (a link from an empty state or elsewhere), and closing it takes that away again.
 */
export function InviteButton(props: ButtonProps & { label?: string }) {
  const { label, ...buttonProps } = props;
  const g = useGrantable();
  const navigate = useNavigate();
  const fromUrl = useRouterState({
    // `?invite=1` typed by hand, or `?invite=%221%22` as the router writes the string "1".
    select: (s) =>
      ['1', '"1"', 'true'].includes(new URLSearchParams(s.location.searchStr).get('invite') ?? ''),
  });
  const [opened, setOpened] = useState(false);
  const flow = flowFor(g.organization?.template);
  const close = () => {
    setOpened(false);
    if (fromUrl)
      void navigate({
        to: '.',
        search: (prev: Record<string, unknown>) => {
          const { invite: _drop, ...rest } = prev;
          return rest;
        },
        replace: true,
      } as never);
  };
  const open = opened || fromUrl;
  return (
    <>
      {g.mayInvite ? (
        <Button {...buttonProps} onClick={() => setOpened(true)}>
          {label ?? flow.title}
        </Button>
      ) : null}
      <InviteDialog opened={open && (g.isPending || g.mayInvite)} onClose={close} />
    </>
  );
}
