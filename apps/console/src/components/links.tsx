import { Anchor, type AnchorProps, Button, type ButtonProps } from '@mantine/core';
import { createLink } from '@tanstack/react-router';
import { type AnchorHTMLAttributes, forwardRef } from 'react';

/**
 * Mantine's anchor and button as typed router links: `to`, `params` and `search` are checked
 * against the route tree, so a renamed page or a missing search field is a type error.
 */
const AnchorElement = forwardRef<
  HTMLAnchorElement,
  AnchorProps & AnchorHTMLAttributes<HTMLAnchorElement>
>((props, ref) => <Anchor component="a" ref={ref} {...props} />);
const ButtonElement = forwardRef<
  HTMLAnchorElement,
  ButtonProps & AnchorHTMLAttributes<HTMLAnchorElement>
>((props, ref) => <Button component="a" ref={ref} {...props} />);

export const AnchorLink = createLink(AnchorElement);
export const ButtonLink = createLink(ButtonElement);
